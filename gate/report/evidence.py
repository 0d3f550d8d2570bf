"""The results folders behind a verdict, opened for the report (read only, verified, lazily loaded).

A verdict carries its rule outcomes and every metric comparison; the report also shows what only
the results folders hold (PR curves, TIDE breakdowns, confusion counts, consistency, parity,
latency stages, detections for the gallery). A folder that is gone, changed since the verdict or
fails its seal is reported as unavailable with the reason, and the sections that need it say so;
the report itself never fails for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from gate.errors import GateError
from gate.results import RESULTS_INDEX
from gate.results.opened import ResultsFolder
from gate.results.backend import REFERENCE_BACKEND
from gate.results.consistency import ConsistencyFigures
from gate.results.latency import LatencyResult
from gate.results.parity import PreprocessingParity
from gate.results.record import RunRecord
from gate.results.verdict import GateVerdict, SideProvenance
from gate.storage import sha256_file

Side = Literal["candidate", "baseline"]
SIDES: tuple[Side, Side] = ("candidate", "baseline")


class SideResults:
    """One side's results folder as the verdict saw it, or the reason it is unavailable now."""

    def __init__(self, provenance: SideProvenance):
        self.provenance = provenance
        self.folder = Path(provenance.results_path)
        self.results: ResultsFolder | None = None
        self.problem: str | None = None
        index = self.folder / RESULTS_INDEX
        if not index.is_file():
            self.problem = f"results folder {self.folder} is not here (no {RESULTS_INDEX})"
        elif sha256_file(index) != provenance.results_index_sha256:
            self.problem = f"results folder {self.folder} changed since the verdict (its index sha256 differs)"
        else:
            try:
                self.results = ResultsFolder.open(self.folder)
            except GateError as exc:
                self.problem = str(exc)

    @property
    def record(self) -> RunRecord | None:
        return self.results.record if self.results else None

    @property
    def available(self) -> bool:
        return self.results is not None

    def evaluation(self, suite: str, backend: str = REFERENCE_BACKEND):
        """The EvaluationResult of one suite on one backend, or None when it did not run or is unavailable."""
        return self.results.evaluation(suite, backend) if self.results else None

    def match_records(self, suite: str, backend: str = REFERENCE_BACKEND):
        return self.results.match_records(suite, backend) if self.results else None

    def consistency(self, suite: str) -> dict[str, ConsistencyFigures]:
        """Backend name -> consistency figures against torch on `suite` (empty when none)."""
        found = self.results.consistency(suite) if self.results else None
        return found.backends if found else {}

    def parity(self) -> PreprocessingParity | None:
        return self.results.parity() if self.results else None

    def latency(self) -> dict[str, LatencyResult]:
        """Backend name -> the latency this side's run measured itself (empty when none)."""
        return self.results.latency().backends if self.results else {}


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
