"""Report fixtures: two real results folders and a failing verdict, built once per session (about a minute).

`report_gate` (a GateFixture, see gate_fixture.py) is shared; tests must not modify its folders
(copy them first). `verdict` is the verdict loaded fresh for each test.
"""

from __future__ import annotations

import os

import pytest

from tests.report.gate_fixture import GateFixture, build_gate_fixture

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def report_gate(tmp_path_factory) -> GateFixture:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return build_gate_fixture(tmp_path_factory)
    finally:
        torch.set_num_threads(threads)


@pytest.fixture()
def verdict(report_gate):
    from gate.compare import load_verdict

    return load_verdict(report_gate.verdict_path)


@pytest.fixture()
def report_options(report_gate) -> dict:
    """Where the fixture's suites, rendered images and history live (passed to the renderers)."""
    return {"cache": report_gate.cache, "suites_dir": report_gate.suites_dir, "history_db": report_gate.history_db}
