"""A command imports only what it uses: `tsrgate compare` on stored results and `tsrgate --help` never load
torch, transformers or Model Optimizer (seconds of start-up each, on every pull-request check)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "transformers", "modelopt")

PROBE = """
import json, sys
from gate.cli import cli
try:
    cli.main(args=sys.argv[1:], prog_name="tsrgate", standalone_mode=False)
except SystemExit:
    pass
print("LOADED " + json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _loaded(*args: str) -> tuple[list[str], subprocess.CompletedProcess]:
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], capture_output=True, text=True,
                          timeout=600)
    line = next((x for x in done.stdout.splitlines() if x.startswith("LOADED ")), None)
    assert line is not None, done.stdout + done.stderr
    return json.loads(line[len("LOADED "):]), done


def test_help_imports_no_model_library():
    loaded, _ = _loaded("--help")
    assert loaded == []


def test_compare_on_stored_results_imports_no_model_library(gate_env, tmp_path):
    out = tmp_path / "out"
    loaded, done = _loaded("compare", str(gate_env.results), str(gate_env.results), "--out", str(out),
                           "--no-latency", "--no-history")
    assert (out / "verdict.json").is_file(), done.stdout + done.stderr  # it did the whole job, reports included
    assert (out / "report.html").is_file()
    assert loaded == [], f"compare imported {loaded}"
