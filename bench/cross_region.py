"""How much does a model lose in another region, and where? One model's results on pairs of suites
(home region, new region), per class and per size bucket, each figure with its bootstrap 95% CI.

    .venv/bin/python bench/cross_region.py results/gtsdb-v1                  # gtsdb-clean vs italy-clean, ...
    .venv/bin/python bench/cross_region.py results/gtsdb-v1 --pair gtsdb-small:italy-small --metric ap

RESULTS is a `tsrgate run` folder holding both suites of each pair (e.g. from
`tsrgate run models/gtsdb-v1 --config tsrgate-region-expansion.yaml --out results/gtsdb-v1`). The two
suites hold different images, so the intervals are separate (gate.eval.intervals), not a paired delta;
the delta column is the difference of the point values. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gate.eval.intervals import MetricInterval, metric_intervals  # noqa: E402
from gate.eval.records import MatchRecords  # noqa: E402

DEFAULT_PAIRS = ["gtsdb-clean:italy-clean", "gtsdb-small:italy-small", "gtsdb-rare:italy-rare"]


def _cell(row: MetricInterval | None) -> str:
    if row is None or row.value is None:
        return "-"
    return f"{row.value:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}] (n={row.support})"


def _rows(results: Path, suite: str, backend: str, metric: str, resamples: int) -> dict:
    path = results / "suites" / suite / backend / "evaluation.records.npz"
    if not path.is_file():
        raise SystemExit(f"error: {path}: no {backend} results for suite {suite} in {results}")
    rows = metric_intervals(MatchRecords.load(path), metrics=(metric,), resamples=resamples)
    return {(r.class_name, r.size): r for r in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--pair", action="append", help="HOME:NEW suite names (repeatable)")
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--metric", default="ap50", choices=["ap", "ap50", "ap75", "ar100"])
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    for pair in args.pair or DEFAULT_PAIRS:
        home, new = pair.split(":")
        a = _rows(args.results, home, args.backend, args.metric, args.resamples)
        b = _rows(args.results, new, args.backend, args.metric, args.resamples)
        print(f"\n{args.metric} of {args.results.name} ({args.backend}), 95% bootstrap CI, n = scored signs\n")
        print(f"| scope | {home} | {new} | delta |")
        print("| --- | --- | --- | ---: |")
        for key in [k for k in a if k in b]:
            label = "all" if key == (None, None) else (key[0] or f"size {key[1]}")
            ra, rb = a[key], b[key]
            delta = f"{rb.value - ra.value:+.3f}" if ra.value is not None and rb.value is not None else "-"
            print(f"| {label} | {_cell(ra)} | {_cell(rb)} | {delta} |")


if __name__ == "__main__":
    main()
