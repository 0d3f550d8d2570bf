"""The gate's own wall time per stage, cold and warm, on the demo.

    .venv/bin/python bench/gate_time.py            # cold (empty caches) then warm (nothing changed)
    .venv/bin/python bench/gate_time.py --warm-only  # re-run on this machine's existing caches

Cold: `tsrgate demo` with an empty cache (no generated world, no rendered suites, no exports, no
cached predictions or timings), an empty results folder and a fresh history; the venv is present.
Warm: the same command again, nothing changed. Each run is a fresh process (`$TSRGATE_STAGE_TIMES`
makes it write its stage totals); the table shows wall seconds per stage (suite render, world
generation, export per format, predict per backend, evaluate, consistency, parity, run latency,
bootstrap, latency, report) and the whole command. Stages can nest (an export happens while a
backend loads), so they need not add up to the total; "other" is what no stage covers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_demo(work: Path, label: str) -> dict:
    times = work / f"{label}.json"
    env = {**os.environ, "TSRGATE_CACHE": str(work / "cache"), "TSRGATE_HISTORY": str(work / "history.sqlite"),
           "TSRGATE_STAGE_TIMES": str(times)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "gate", "demo", "--quiet", "--out", str(work / "reports"),
                           "--results", str(work / "results")], cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"demo failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    out = json.loads(times.read_text())
    out["process"] = wall
    out["verdict"] = json.loads((work / "reports" / "verdict.json").read_text())["outcome"]
    return out


def print_table(runs: dict[str, dict]) -> None:
    names = sorted({name for run in runs.values() for name in run["stages"]},
                   key=lambda n: -max(run["stages"].get(n, 0.0) for run in runs.values()))
    labels = list(runs)
    print(f"{'stage':22s}" + "".join(f"{label:>12s}" for label in labels))
    for name in names:
        print(f"{name:22s}" + "".join(f"{runs[label]['stages'].get(name, 0.0):12.1f}" for label in labels))
    print(f"{'demo (run_demo)':22s}" + "".join(f"{runs[label]['total']:12.1f}" for label in labels))
    print(f"{'whole process':22s}" + "".join(f"{runs[label]['process']:12.1f}" for label in labels))
    print("verdicts: " + ", ".join(f"{label} {runs[label]['verdict'].upper()}" for label in labels))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-only", action="store_true", help="only the warm run, on a kept work folder")
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: a new temporary one)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="tsrgate-gate-time-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"work folder {work}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")
    runs = {}
    if not args.warm_only:
        runs["cold"] = run_demo(work, "cold")
    runs["warm"] = run_demo(work, "warm")
    print_table(runs)


if __name__ == "__main__":
    main()
