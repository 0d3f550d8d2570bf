"""A suite's torch match records from a results folder or baseline line (for power planning and benches)."""

from __future__ import annotations

from pathlib import Path

from gate.compare.compare import resolve_results
from gate.errors import InputError
from gate.eval.records import MatchRecords
from gate.results.backend import REFERENCE_BACKEND
from gate.results.opened import ResultsFolder


def torch_records(ref: str | Path, suite: str) -> tuple[MatchRecords, float, str]:
    """(records, operating threshold, "model version") of `suite` on torch in the results `ref` names."""
    folder = ResultsFolder.open(resolve_results(ref))
    record = folder.record
    entry = record.entry(suite, REFERENCE_BACKEND)
    if entry is None or entry.status != "ok" or not entry.records_file:
        have = sorted({e.suite for e in record.entries if e.backend == REFERENCE_BACKEND and e.status == "ok"})
        raise InputError(f"no torch results for suite {suite!r} (torch results: {', '.join(have) or 'none'})",
                         path=folder.path)
    return (folder.match_records(suite, REFERENCE_BACKEND), record.model.score_threshold,
            f"{record.model.name} {record.model.version}")
