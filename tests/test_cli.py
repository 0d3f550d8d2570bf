"""The CLI boundary: errors become one line and an exit code, never a traceback."""

from __future__ import annotations

import click
import pytest

from gate.cli import cli
from gate.errors import InputError


@pytest.fixture()
def failing_command():
    @click.command("boom-test")
    @click.option("--kind", default="input")
    def boom(kind: str) -> None:
        if kind == "input":
            raise InputError("missing top-level key 'images'", path="x/annotations.json")
        raise RuntimeError("unexpected")

    cli.add_command(boom)
    yield "boom-test"
    cli.commands.pop("boom-test")


def test_version(run_cli):
    result = run_cli("--version")
    assert result.exit_code == 0
    assert "tsrgate" in result.output


def test_input_error_is_one_line_exit_2(run_cli, failing_command):
    result = run_cli(failing_command)
    assert result.exit_code == 2
    assert result.output.strip() == "error: x/annotations.json: missing top-level key 'images'"
    assert "Traceback" not in result.output


def test_unexpected_error_has_no_traceback_without_debug(run_cli, failing_command):
    result = run_cli(failing_command, "--kind", "bug")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "internal error RuntimeError: unexpected" in result.output
