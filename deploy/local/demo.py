"""Demo credentials for ``make run``: generated once per machine, never committed.

The connectors refuse unauthenticated traffic (write keys, bearer tokens,
HMAC secrets), and the demo traffic generator must hold the same secrets.
``omni up`` writes them to ``<local home>/demo.env`` (git-ignored, mode 0600)
the first time and passes that file to every process it starts with
``--env-file``. Variables already set in the environment win over the file,
so a real deployment's secrets are never replaced by demo ones.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path

from schemas.settings import LocalRuntimeSettings


def _write_keys() -> str:
    keys = [
        {"key": secrets.token_urlsafe(24), "source": "demo-web-shop", "channel": "web"},
        {"key": secrets.token_urlsafe(24), "source": "demo-mobile-app", "channel": "app"},
    ]
    return json.dumps(keys)


def _token_list() -> str:
    return json.dumps([secrets.token_urlsafe(24)])


# One line per credential a demo process needs: variable -> how to make one.
CREDENTIALS: dict[str, Callable[[], str]] = {
    "OMNI_CONNECTORS__COLLECTOR__WRITE_KEYS": _write_keys,
    "OMNI_CONNECTORS__POS__API_KEYS": _token_list,
    "OMNI_CONNECTORS__SERVICE_DESK__SECRETS": _token_list,
    "OMNI_CONNECTORS__INVENTORY__API_KEYS": _token_list,
}


def demo_env(local: LocalRuntimeSettings) -> Path:
    """The demo credentials file, created (or completed) if needed."""
    path = local.home / "demo.env"
    held = _read(path)
    missing = {name: make() for name, make in CREDENTIALS.items() if name not in held}
    if missing or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{name}='{value}'" for name, value in {**held, **missing}.items()]
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)
    return path


def _read(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip():
            values[name.strip()] = value.strip().strip("'")
    return values
