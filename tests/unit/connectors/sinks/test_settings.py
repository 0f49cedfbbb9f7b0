"""The sinks' settings as an operator writes them: environment variables, endpoints as JSON."""

from __future__ import annotations

import pytest

from connectors.sinks.exceptions import SinkConfigError
from connectors.sinks.postgres import dsn_of
from connectors.sinks.webhook import WebhookSink
from schemas.settings import Settings


def test_endpoints_come_from_one_json_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "OMNI_CONNECTORS__WEBHOOK_SINK__ENDPOINTS",
        '[{"channel": "tablets", "url": "https://tablets.example/hook", "secret": "s3cr3t",'
        ' "views": ["stock-levels", "omni.view.orders"]}]',
    )
    monkeypatch.setenv("OMNI_CONNECTORS__WEBHOOK_SINK__MAX_ATTEMPTS", "3")
    config = Settings().connectors.webhook_sink
    [endpoint] = config.endpoints
    assert (endpoint.channel, endpoint.views, config.max_attempts) == (
        "tablets",
        ["stock-levels", "omni.view.orders"],
        3,
    )
    assert endpoint.secret.get_secret_value() == "s3cr3t"
    assert "s3cr3t" not in repr(config)


def test_the_postgres_dsn_defaults_to_the_local_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNI_LOCAL__POSTGRES_PORT", "45432")
    assert dsn_of(Settings()) == "postgresql://omni@127.0.0.1:45432/omni"
    monkeypatch.setenv("OMNI_CONNECTORS__POSTGRES_SINK__DSN", "postgresql://u:pw@db:5432/views")
    settings = Settings()
    assert dsn_of(settings) == "postgresql://u:pw@db:5432/views"
    assert "pw@" not in repr(settings.connectors.postgres_sink)


@pytest.mark.parametrize(
    ("endpoints", "message"),
    [
        ([], "no endpoints"),
        ([{"channel": "a", "url": "http://x", "secret": "s", "views": []}], "no view"),
        ([{"channel": "a", "url": "http://x", "secret": "s", "views": ["cart"]}], "unknown view"),
        (
            [
                {"channel": "a", "url": "http://x", "secret": "s", "views": ["carts"]},
                {"channel": "a", "url": "http://y", "secret": "s", "views": ["orders"]},
            ],
            "unique channels",
        ),
    ],
)
def test_webhook_settings_that_cannot_work_are_refused_at_start(
    endpoints: list[dict[str, object]], message: str
) -> None:
    settings = Settings.model_validate({"connectors": {"webhook_sink": {"endpoints": endpoints}}})
    with pytest.raises(SinkConfigError, match=message):
        WebhookSink(settings)
