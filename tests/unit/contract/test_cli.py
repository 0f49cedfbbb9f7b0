"""The CLI turns every failure into one human line and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys

import pytest


def omni(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"OMNI_BOOTSTRAP_SERVERS": "127.0.0.1:1", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-c", "from deploy.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("produce", "NoSuchEvent", "--json", "{}"), "unknown event type 'NoSuchEvent'"),
        (("produce", "CartItemAdded", "--json", "{not json"), "--json is not valid JSON"),
        (("produce", "CartItemAdded", "--json", "[1]"), "--json must be a JSON object"),
        (
            ("produce", "CartItemAdded", "--json", '{"quantity": "two"}'),
            "invalid CartItemAdded: sku: Field required",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_1(args: tuple[str, ...], message: str) -> None:
    result = omni(*args)
    assert result.returncode == 1, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_wrong_field_type_names_the_field() -> None:
    result = omni("produce", "CartItemAdded", "--json", '{"sku": "S1", "quantity": "two"}')
    assert result.returncode == 1
    assert "quantity" in result.stderr


def test_unknown_command_is_a_usage_error() -> None:
    result = omni("frobnicate")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
