"""Shared fixtures: the shared GTSDB copy (skipped with a reason when absent) and a CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from gate.backends import register_backend
from gate.cli import cli
from gate.data.dataset import GTSDB_ENV, default_gtsdb_path
from tests.absent_backend import ABSENT

REPO_ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# The backend tests use as "cannot run on this machine": unavailable everywhere, unlike TensorRT.
register_backend(ABSENT, "tests.absent_backend:AbsentBackend")


@pytest.fixture(scope="session")
def gtsdb_path() -> Path:
    """The real GTSDB dataset from ../shared (or $TSRGATE_GTSDB); tests using it skip when it is absent."""
    path = default_gtsdb_path()
    if not (path / "annotations.json").is_file():
        pytest.skip(f"GTSDB dataset not found at {path} (set {GTSDB_ENV} to its folder)")
    return path


@pytest.fixture()
def run_cli():
    """Invoke `tsrgate ARGS...` in-process; returns click's Result (exit_code, output, stderr)."""

    def _run(*args: str):
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return _run


@pytest.fixture()
def later_clock(monkeypatch):
    """Call it to move this process's wall clock (`time.time`, `time.localtime`) a day ahead, without sleeping."""
    import time

    real_time, real_localtime = time.time, time.localtime

    def advance() -> None:
        monkeypatch.setattr(time, "time", lambda: real_time() + 86400.0)
        monkeypatch.setattr(time, "localtime", lambda secs=None: real_localtime(time.time() if secs is None else secs))

    return advance


@pytest.fixture(scope="session")
def gate_env(tmp_path_factory):
    """Suites, a trained tiny model and one run's results (see tests/gate_fixtures.py).

    It points $TSRGATE_CACHE and $TSRGATE_HISTORY at its own folders for the session and restores them after.
    """
    from tests.gate_fixtures import gate_env as build

    with pytest.MonkeyPatch.context() as env:
        yield build(tmp_path_factory, env)


@pytest.fixture(scope="session")
def shapes_data(tmp_path_factory):
    """A 16-image generated dataset (3 shape classes, split tag train/val)."""
    from tests.models.trained import shapes_dataset

    return shapes_dataset(tmp_path_factory)


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory):
    """A tiny RT-DETR trained 100 steps on `shapes_data` (do not modify it)."""
    from tests.models.trained import trained_model

    return trained_model(tmp_path_factory)
