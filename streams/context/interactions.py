"""One readable line per event, so an agent sees at a glance what the customer just did."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from streams.common.text import first_line

Event = Mapping[str, Any]
# Interactions that show the customer weighing a purchase (journey: consideration).
CONSIDERATION = frozenset(
    {"ProductViewed", "ProductsSearched", "CartItemAdded", "CartItemQuantitySet"}
)


def _product(e: Event) -> str:
    return f"viewed {e['sku']} {e.get('product_name') or ''}"


def _search(e: Event) -> str:
    count = e.get("result_count")
    return f"searched '{e['query']}'" + ("" if count is None else f" ({count} results)")


def _page(e: Event) -> str:
    return str(e.get("title") or e.get("path") or e["url"])


def _message(verb: str) -> Callable[[Event], str]:
    def summarise(e: Event) -> str:
        return f"{verb} {e['medium']} {e.get('campaign_id') or e['message_id']}"

    return summarise


_SUMMARIES: dict[str, Callable[[Event], str]] = {
    "ProductViewed": _product,
    "ProductsSearched": _search,
    "PageViewed": _page,
    "ScreenViewed": lambda e: f"opened {e['screen_name']}",
    "MessageSent": _message("sent"),
    "MessageOpened": _message("opened"),
    "MessageClicked": _message("clicked"),
    "InteractionTracked": lambda e: str(e["name"]),
    "CustomerIdentified": lambda e: "identified",
    "CartItemAdded": lambda e: f"added {e['quantity']} x {e['sku']} to cart",
    "CartItemRemoved": lambda e: f"removed {e['sku']} from cart",
    "CartCheckedOut": lambda e: "checked out",
    "OrderPlaced": lambda e: f"placed order {e['order_id']}",
    "OrderPickedUp": lambda e: f"picked up order {e['order_id']} at {e['location_id']}",
    "OrderReturned": lambda e: f"returned goods of order {e['order_id']}",
    "CaseOpened": lambda e: f"opened case: {e.get('subject') or e['case_id']}",
    "CaseMessage": lambda e: str(e["body"]),
    "CallStarted": lambda e: f"{e['direction']} call",
    "CsatSubmitted": lambda e: f"rated service {e['score']}/5",
}


def summarise(name: str, event: Event) -> str:
    """One line (at most 140 characters) about the event; unknown types give their name."""
    describe = _SUMMARIES.get(name)
    return first_line(describe(event) if describe else name).strip()
