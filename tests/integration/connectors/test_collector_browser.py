"""analytics.js in a real headless Chromium page sends a journey through the collector.

The page loads the npm package's UMD bundle from a localhost server (no CDN:
its settings are passed inline), posts cross-origin to the collector (CORS
preflights included) and the events must land in Kafka as the contract's Avro.
``tests/browser/install.sh`` (run by ``make test``) installs Chromium and the
pinned npm packages; a machine without them fails here, it does not skip.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.integration.connectors.collector_process import WEB_KEY, CollectorProcess
from tests.integration.connectors.kafka_reader import Landed, read_events
from tests.integration.support import ContractEnv

pytestmark = pytest.mark.integration

BROWSER_DIR = Path(__file__).resolve().parents[2] / "browser"
UMD_DIR = BROWSER_DIR / "node_modules" / "@segment" / "analytics-next" / "dist" / "umd"
INSTALL_HINT = "run tests/browser/install.sh (make test does)"


class _ShopHandler(SimpleHTTPRequestHandler):
    """The analytics.js bundle files, plus the journey page at ``/journey.html``."""

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/journey.html":
            body = (BROWSER_DIR / "journey.html").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reports what matters."""


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    assert (UMD_DIR / "index.js").exists(), f"analytics.js is not installed: {INSTALL_HINT}"
    handler = functools.partial(_ShopHandler, directory=str(UMD_DIR))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run_page(url: str, user_data_dir: Path) -> dict[str, Any]:
    chromium = shutil.which("chromium")
    assert chromium, f"Debian's chromium is not installed: {INSTALL_HINT}"
    node = shutil.which("node")
    assert node, "node is not installed"
    done = subprocess.run(
        [node, str(BROWSER_DIR / "journey.mjs"), url, chromium, str(user_data_dir)],
        capture_output=True,
        timeout=120,
        check=False,
        cwd=BROWSER_DIR,
    )
    lines = done.stdout.decode().strip().splitlines()
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    assert lines, done.stderr.decode()[-3000:]
    result: dict[str, Any] = orjson.loads(lines[-1])
    return result


def test_analytics_js_journey_lands_in_kafka(
    shop: str, collector: CollectorProcess, contract_env: ContractEnv, tmp_path: Path
) -> None:
    anon, user, order = (f"{kind}-{uuid.uuid4().hex}" for kind in ("anon", "user", "order"))
    config = {
        "writeKey": WEB_KEY,
        "apiHost": f"127.0.0.1:{collector.port}/v1",
        "anonymousId": anon,
        "userId": user,
        "orderId": order,
    }
    fragment = urllib.parse.quote(orjson.dumps(config).decode())
    result = run_page(f"{shop}/journey.html#{fragment}", tmp_path / "chromium-profile")
    assert result["ok"], result
    assert result["outside"] == [], "the page tried to leave localhost"

    def ours(landed: Landed) -> bool:
        ids = landed.value["envelope"]["identifiers"]
        return bool(ids["anonymous_id"] == anon)

    landed = read_events(contract_env, ours, expected=6)
    records = sorted(item.record.rpartition(".")[2] for item in landed)
    assert records == [
        "CartCheckedOut",
        "CartItemAdded",
        "CustomerIdentified",
        "OrderPlaced",
        "PageViewed",
        "ProductViewed",
    ]
    by_record = {item.record.rpartition(".")[2]: item for item in landed}
    page = by_record["PageViewed"].value
    assert page["url"].startswith(f"{shop}/journey.html")
    assert page["path"] == "/journey.html"
    assert page["envelope"]["channel"] == "web"
    added = by_record["CartItemAdded"]
    assert (added.key, added.value["quantity"], added.value["unit_price_minor"]) == (anon, 2, 1250)
    assert by_record["OrderPlaced"].key == order
    assert by_record["CustomerIdentified"].value["customer_id"] == user
