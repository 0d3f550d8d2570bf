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
