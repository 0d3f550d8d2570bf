"""Both integrations are optional: without their extra, one line naming the extra to install, exit 2."""

from __future__ import annotations

import sys

import pytest

from gate.integrations.extras import MissingExtraError, require_extra


@pytest.fixture()
def without(monkeypatch):
    """Make `import NAME` fail as it does where the extra is not installed."""

    def hide(*names: str) -> None:
        for name in names:
            monkeypatch.setitem(sys.modules, name, None)

    return hide


def test_require_extra_names_the_extra(without):
    without("fiftyone")
    with pytest.raises(MissingExtraError, match=r'install extra fiftyone with pip install "tsrgate\[fiftyone\]"'):
        require_extra("fiftyone", "the FiftyOne export")


@pytest.mark.parametrize("module, args, extra", [
    ("fiftyone", ["export", "fiftyone", "RESULTS", "--out", "OUT"], "fiftyone"),
    ("mlflow", ["compare", "CANDIDATE", "BASELINE", "--mlflow"], "mlflow"),
    ("mlflow", ["baseline", "promote", "RESULTS", "--line", "x", "--mlflow", "sqlite:///db"], "mlflow"),
])
def test_missing_extra_is_one_line_and_exit_2(without, run_cli, tmp_path, module, args, extra):
    without(module)
    args = [str(tmp_path / a) if a.isupper() else a for a in args]
    result = run_cli(*args)
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert result.exit_code == 2
    assert lines == [lines[0]] and lines[0].startswith("error: ")
    assert f"install extra {extra}" in lines[0] and "Traceback" not in result.output
    assert not (tmp_path / "OUT").exists() and not (tmp_path / "x").exists()


def test_both_extras_import_in_one_process_in_either_order():
    """importlib-metadata 8+ broke `import fiftyone` after `import mlflow` (pinned below 8 in the extra)."""
    import os
    import subprocess

    from tests.integrations.conftest import require_package

    require_package("fiftyone", "fiftyone")
    require_package("mlflow", "mlflow")
    env = dict(os.environ, FIFTYONE_DO_NOT_TRACK="true")
    for order in ("mlflow, fiftyone", "fiftyone, mlflow"):
        done = subprocess.run([sys.executable, "-c", f"import {order}"], capture_output=True, text=True, env=env,
                              timeout=600, check=False)
        assert done.returncode == 0, f"import {order}: {done.stderr.strip().splitlines()[-1:]}"
