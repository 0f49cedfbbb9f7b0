"""The one registry of connectors and its CLI."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from connectors import registry
from connectors.collector import create
from connectors.core.exceptions import UnknownConnector
from deploy.cli import app


def test_every_entry_resolves_to_a_factory() -> None:
    assert "collector" in registry.names()
    assert registry.factory("collector") is create
    for name in registry.names():
        assert callable(registry.factory(name))


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(UnknownConnector, match=r"known: .*collector"):
        registry.factory("fax")


def test_omni_connector_list() -> None:
    result = CliRunner().invoke(app, ["connector", "list"])
    assert result.exit_code == 0, result.output
    assert "collector\tconnectors.collector:create" in result.output
