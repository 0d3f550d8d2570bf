"""Fixtures for the FiftyOne and MLflow integrations: the report tests' two results folders and their verdict.

The real `fiftyone` and `mlflow` packages are required (`make test` installs the extras). Where one
is missing, its tests skip with the reason, except under CI (CI=true), where that is a failure:
the integration would otherwise go untested without anyone noticing.
"""

from __future__ import annotations

import importlib
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# FiftyOne: no usage tracking and no database; the tests only write and parse dataset folders.
os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")


def require_package(module: str, extra: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        reason = f"{module} is not installed (the [{extra}] extra; `make test` installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def report_gate(tmp_path_factory):
    """The report tests' fixture (tests/report/gate_fixture.py), built once per session."""
    import torch

    from tests.report.gate_fixture import build_gate_fixture

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return build_gate_fixture(tmp_path_factory)
    finally:
        torch.set_num_threads(threads)
