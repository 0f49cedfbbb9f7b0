"""The store/POS connector (registry name ``pos``).

Tills send receipts (sales, returns, loyalty-card scans, click-and-collect
pick-ups) as CSV or JSON lines dropped in a watched folder, or POSTed to
``/v1/receipts``. ``receipts`` reads and validates them, ``mapping`` turns
them into the contract's order, stock and identity events (both pure), and
``server`` is the HTTP side and the folder feed.
"""

from connectors.pos.server import PosConnector, create

__all__ = ["PosConnector", "create"]
