"""Recording runs, comparisons and promotions in the history store (issue: model history)."""

from __future__ import annotations

from pathlib import Path

from gate.history import HistoryEntry, HistoryMetric, HistoryStore
from gate.results.record import RunRecord

HISTORY_METRICS = ("ap", "ap50", "ap75", "ar100")


def run_metrics(record: RunRecord) -> list[HistoryMetric]:
    versions = {s.name: s.version for s in record.suites}
    return [
        HistoryMetric(suite=e.suite, suite_version=versions.get(e.suite, "?"), backend=e.backend, metric=m,
                      value=e.summary.get(m))
        for e in record.entries if e.status == "ok" for m in HISTORY_METRICS
    ]


def record_run(record: RunRecord, results: Path, db: Path | None, line: str | None = None) -> int:
    entry = HistoryEntry(
        kind="run", model_name=record.model.name, model_version=record.model.version,
        weights_sha256=record.model.weights_sha256, line=line, git_commit=record.git_commit,
        results_path=str(results), metrics=run_metrics(record),
        details={"suites": [s.name for s in record.suites], "backends": [b.name for b in record.backends]},
    )
    return HistoryStore(db).record(entry)
