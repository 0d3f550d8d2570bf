"""The verdict: every rule's outcome, the overall outcome and the provenance of both sides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from gate import __version__
from gate.errors import InputError
from gate.compare.sequences import SequenceSummary
from gate.policy import MetricComparison, RuleOutcome
from gate.run.record import ModelProvenance, SuiteProvenance
from gate.storage import atomic_write_json

VERDICT_FORMAT = 1
VERDICT_FILE = "verdict.json"


class SideProvenance(BaseModel):
    """Where one side's numbers came from."""

    results_path: str
    results_index_sha256: str
    created_at: str
    model: ModelProvenance
    suites: list[SuiteProvenance]
    backends: list[dict[str, Any]]
    libraries: dict[str, str]
    machine: dict[str, Any]
    git_commit: str | None = None


class PolicyProvenance(BaseModel):
    name: str
    path: str
    sha256: str


class GateVerdict(BaseModel):
    format: int = VERDICT_FORMAT
    kind: Literal["tsrgate_verdict"] = "tsrgate_verdict"
    tsrgate_version: str = __version__
    outcome: Literal["pass", "warn", "fail"]
    created_at: str
    policy: PolicyProvenance
    candidate: SideProvenance
    baseline: SideProvenance
    suites: list[str]
    bootstrap: dict[str, Any]
    latency: dict[str, Any] = Field(default_factory=dict)
    counts: dict[str, int]
    outcomes: list[RuleOutcome]
    comparisons: list[MetricComparison]
    notes: list[str] = Field(default_factory=list)
    sequences: list[SequenceSummary] = Field(default_factory=list)  # drive suites: timelines for the report

    def failing(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if o.outcome == "fail"]

    def warnings(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if o.outcome == "warn"]

    def save(self, path: str | Path) -> None:
        atomic_write_json(path, self.model_dump(mode="json"))


def overall_outcome(outcomes: list[RuleOutcome]) -> Literal["pass", "warn", "fail"]:
    kinds = {o.outcome for o in outcomes}
    return "fail" if "fail" in kinds else "warn" if "warn" in kinds else "pass"


def load_verdict(path: str | Path) -> GateVerdict:
    """Load a verdict file; one from another tsrgate format or a hand-edited one is a one-line error naming the field."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("verdict file not found", path=path) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"verdict is not valid JSON ({exc})", path=path) from None
    if not isinstance(raw, dict) or raw.get("kind") != "tsrgate_verdict":
        raise InputError("not a tsrgate verdict (field 'kind' is not 'tsrgate_verdict')", path=path)
    if raw.get("format") != VERDICT_FORMAT:
        raise InputError(f"field 'format': verdict format {raw.get('format')!r} is not supported "
                         f"(this tsrgate reads {VERDICT_FORMAT})", path=path)
    try:
        verdict = GateVerdict.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InputError(f"field '{'.'.join(map(str, err['loc']))}': {err['msg']}", path=path) from None
    expected = overall_outcome(verdict.outcomes)
    if verdict.outcome != expected:
        raise InputError(f"field 'outcome': says {verdict.outcome!r} but its rules give {expected!r} (edited by hand?)",
                         path=path)
    return verdict
