"""Shared fixtures: the shared GTSDB and Italy copies (skipped with a reason when absent) and a CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gate.cli import cli
from gate.data.dataset import GTSDB_ENV, ITALY_ENV, default_gtsdb_path, default_italy_path

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def gtsdb_path() -> Path:
    """The real GTSDB dataset from ../shared (or $TSRGATE_GTSDB); tests using it skip when it is absent."""
    path = default_gtsdb_path()
    if not (path / "annotations.json").is_file():
        pytest.skip(f"GTSDB dataset not found at {path} (set {GTSDB_ENV} to its folder)")
    return path


@pytest.fixture(scope="session")
def italy_path() -> Path:
    """The real Italy dataset from ../shared (or $TSRGATE_ITALY); tests using it skip when it is absent."""
    path = default_italy_path()
    if not (path / "annotations.json").is_file():
        pytest.skip(f"Italy dataset not found at {path} (set {ITALY_ENV} to its folder)")
    return path


@pytest.fixture()
def run_cli():
    """Invoke `tsrgate ARGS...` in-process; returns click's Result (exit_code, output, stderr)."""

    def _run(*args: str):
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return _run


@pytest.fixture(scope="session")
def gate_env(tmp_path_factory):
    """Suites, a trained tiny model and one run's results (see tests/gate_fixtures.py)."""
    from tests.gate_fixtures import gate_env as build

    return build(tmp_path_factory)
