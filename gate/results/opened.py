"""`ResultsFolder.open()`: a sealed results folder, verified once, its files loaded typed and lazily.

Every stage that reads a run's output (compare, reports, baselines, the demo, sign-off) goes through this
class instead of reading files by path, so each file has exactly one reader: its model's `load`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from gate.errors import InputError
from gate.results.backend import REFERENCE_BACKEND
from gate.results.consistency import ConsistencyFile
from gate.results.folder import RESULTS_INDEX, ResultsIndex, load_results_index
from gate.results.latency import LatencyFile
from gate.results.parity import PreprocessingParity
from gate.results.record import RUN_FILE, RunRecord
from gate.storage import sha256_file


class ResultsFolder:
    """A sealed results folder, opened once: the seal is verified and the run record read on `open`; the
    other files (evaluations, match records, consistency, parity, latency) are loaded, typed, on first use."""

    def __init__(self, path: Path, index: ResultsIndex, record: RunRecord):
        self.path = path
        self.index = index
        self.record = record
        self._loaded: dict[tuple, Any] = {}

    @classmethod
    def open(cls, path: str | Path, verify: bool = True) -> ResultsFolder:
        """Refuse an interrupted, foreign or tampered folder, then read its run record."""
        path = Path(path)
        index = load_results_index(path, verify=verify)
        if not (path / RUN_FILE).is_file():
            raise InputError(f"not a tsrgate run results folder (no {RUN_FILE})", path=path)
        return cls(path, index, RunRecord.load(path / RUN_FILE))

    @property
    def index_sha256(self) -> str:
        return sha256_file(self.path / RESULTS_INDEX)

    def _once(self, key: tuple, load: Callable[[], Any]) -> Any:
        if key not in self._loaded:
            self._loaded[key] = load()
        return self._loaded[key]

    def _entry_file(self, suite: str, backend: str, attribute: str) -> Path | None:
        entry = self.record.entry(suite, backend)
        if entry is None or entry.status != "ok" or getattr(entry, attribute) is None:
            return None
        return self.path / getattr(entry, attribute)

    def evaluation(self, suite: str, backend: str = REFERENCE_BACKEND):
        """The EvaluationResult of one suite on one backend, or None when it did not run."""
        from gate.eval import EvaluationResult

        path = self._entry_file(suite, backend, "evaluation_file")
        return self._once(("evaluation", suite, backend), lambda: EvaluationResult.load(path) if path else None)

    def match_records(self, suite: str, backend: str = REFERENCE_BACKEND):
        """The per-detection match records of one suite on one backend, or None when it did not run."""
        from gate.eval import MatchRecords

        path = self._entry_file(suite, backend, "records_file")
        return self._once(("records", suite, backend), lambda: MatchRecords.load(path) if path else None)

    def consistency(self, suite: str) -> ConsistencyFile | None:
        """Every backend against torch on `suite`, or None when the run wrote no consistency figures there."""
        rel = self.record.consistency_files.get(suite)
        return self._once(("consistency", suite), lambda: ConsistencyFile.load(self.path / rel) if rel else None)

    def parity(self) -> PreprocessingParity | None:
        rel = self.record.parity_file
        return self._once(("parity",), lambda: PreprocessingParity.load(self.path / rel) if rel else None)

    def latency(self) -> LatencyFile:
        """The latency the run measured itself (no backends when it measured none)."""
        rel = self.record.latency_file
        return self._once(("latency",), lambda: LatencyFile.load(self.path / rel) if rel else LatencyFile())


def load_run(folder: str | Path, verify: bool = True) -> RunRecord:
    """Load a results folder's run record after verifying the folder's seal."""
    return ResultsFolder.open(folder, verify=verify).record
