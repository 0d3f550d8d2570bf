"""Recording a comparison in the history store."""

from __future__ import annotations

from pathlib import Path

from gate.results.verdict import GateVerdict
from gate.history import HistoryEntry, HistoryMetric, HistoryStore


def record_compare(verdict: GateVerdict, db: Path | None) -> int:
    cand = verdict.candidate
    versions = {s.name: s.version for s in cand.suites}
    metrics = [
        HistoryMetric(suite=row.suite, suite_version=versions.get(row.suite, "?"), backend=row.backend or "torch",
                      metric=row.metric, value=row.candidate)
        for row in verdict.comparisons
        if row.class_name is None and row.size is None and row.suite in versions and row.metric in ("ap", "ap50")
    ]
    return HistoryStore(db).record(HistoryEntry(
        kind="compare", model_name=cand.model.name, model_version=cand.model.version,
        weights_sha256=cand.model.weights_sha256, verdict=verdict.outcome, git_commit=cand.git_commit,
        results_path=cand.results_path, metrics=metrics,
        details={"baseline": verdict.baseline.model.name, "baseline_results": verdict.baseline.results_path,
                 "counts": verdict.counts, "policy": verdict.policy.name},
    ))
