"""The results folders behind a verdict, opened for the report (read only, verified, lazily loaded).

A verdict carries its rule outcomes and every metric comparison; the report also shows what only
the results folders hold (PR curves, TIDE breakdowns, confusion counts, consistency, parity,
latency stages, detections for the gallery). A folder that is gone, changed since the verdict or
fails its seal is reported as unavailable with the reason, and the sections that need it say so;
the report itself never fails for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from gate.results.verdict import GateVerdict, SideProvenance
from gate.errors import GateError
from gate.results import RESULTS_INDEX
from gate.results.record import RunRecord, load_run
from gate.storage import sha256_file

Side = Literal["candidate", "baseline"]
SIDES: tuple[Side, Side] = ("candidate", "baseline")


class SideResults:
    """One side's results folder: the run record and its files, or the reason they are unavailable."""

    def __init__(self, provenance: SideProvenance):
        self.provenance = provenance
        self.folder = Path(provenance.results_path)
        self.record: RunRecord | None = None
        self.problem: str | None = None
        self._evaluations: dict[tuple[str, str], Any] = {}
        self._records: dict[tuple[str, str], Any] = {}
        self._open()

    def _open(self) -> None:
        index = self.folder / RESULTS_INDEX
        if not index.is_file():
            self.problem = f"results folder {self.folder} is not here (no {RESULTS_INDEX})"
            return
        if sha256_file(index) != self.provenance.results_index_sha256:
            self.problem = f"results folder {self.folder} changed since the verdict (its index sha256 differs)"
            return
        try:
            self.record = load_run(self.folder, verify=True)
        except GateError as exc:
            self.problem = str(exc)

    @property
    def available(self) -> bool:
        return self.record is not None

    def _entry_file(self, suite: str, backend: str, attribute: str) -> Path | None:
        if self.record is None:
            return None
        entry = self.record.entry(suite, backend)
        if entry is None or entry.status != "ok" or getattr(entry, attribute) is None:
            return None
        return self.folder / getattr(entry, attribute)

    def evaluation(self, suite: str, backend: str = "torch"):
        """The EvaluationResult of one suite on one backend, or None when it did not run."""
        from gate.eval import EvaluationResult

        key = (suite, backend)
        if key not in self._evaluations:
            path = self._entry_file(suite, backend, "evaluation_file")
            self._evaluations[key] = EvaluationResult.load(path) if path is not None else None
        return self._evaluations[key]

    def match_records(self, suite: str, backend: str = "torch"):
        from gate.eval import MatchRecords

        key = (suite, backend)
        if key not in self._records:
            path = self._entry_file(suite, backend, "records_file")
            self._records[key] = MatchRecords.load(path) if path is not None else None
        return self._records[key]

    def _json(self, relative: str | None) -> dict[str, Any] | None:
        if self.record is None or relative is None:
            return None
        return json.loads((self.folder / relative).read_text(encoding="utf-8"))

    def consistency(self, suite: str) -> dict[str, Any]:
        """Backend name -> consistency figures against torch on `suite` (empty when none)."""
        if self.record is None:
            return {}
        raw = self._json(self.record.consistency_files.get(suite))
        return raw["backends"] if raw else {}

    def parity(self) -> dict[str, Any] | None:
        return self._json(self.record.parity_file) if self.record else None

    def latency(self) -> dict[str, Any]:
        raw = self._json(self.record.latency_file) if self.record else None
        return raw["backends"] if raw else {}


class VerdictEvidence:
    """Both sides of a verdict, opened once and shared by every report section."""

    def __init__(self, verdict: GateVerdict):
        self.verdict = verdict
        self.candidate = SideResults(verdict.candidate)
        self.baseline = SideResults(verdict.baseline)

    def side(self, name: Side) -> SideResults:
        return self.candidate if name == "candidate" else self.baseline

    @property
    def problems(self) -> list[str]:
        return [f"{name}: {self.side(name).problem}" for name in SIDES if self.side(name).problem]
