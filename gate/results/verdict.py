"""The verdict: every rule's outcome, the overall outcome and the provenance of both sides."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from gate import __version__
from gate.errors import InputError
from gate.policy import MetricComparison, RuleOutcome
from gate.policy.evaluate import FamilySummary
from gate.results.artifact import Artifact
from gate.results.backend import BackendStatus
from gate.results.record import ModelProvenance, SuiteProvenance
from gate.results.sequences import SequenceSummary

VERDICT_FORMAT = 1
VERDICT_FILE = "verdict.json"


class SideProvenance(BaseModel):
    """Where one side's numbers came from."""

    results_path: str
    results_index_sha256: str
    created_at: str
    model: ModelProvenance
    suites: list[SuiteProvenance]
    backends: list[BackendStatus]
    libraries: dict[str, str]
    machine: dict[str, Any]
    git_commit: str | None = None


class PolicyProvenance(BaseModel):
    name: str
    path: str
    sha256: str


class BootstrapSettings(BaseModel):
    """How the accuracy CIs were drawn (from the policy's defaults)."""

    method: str = "paired image bootstrap, percentile CI"
    resamples: int
    confidence: float
    seed: int
    min_support: int


class LatencyRatios(BaseModel):
    """One backend's p50/p99 latency on both sides and their candidate/baseline ratios.

    A device pipeline (`--external`) reports its own latency; when only the candidate's pipeline reported
    one, the baseline figures and the ratios are None and `reported_by` says where the figure came from.
    """

    candidate_p50_ms: float
    baseline_p50_ms: float | None = None
    candidate_p99_ms: float
    baseline_p99_ms: float | None = None
    latency_p50_ratio: float | None = None
    latency_p99_ratio: float | None = None
    reported_by: str = ""  # "" = timed by tsrgate; else e.g. "device pipeline"
    # Timed interleaved as a statistic (gate.compare.latency): the CI of the p50 ratio, the pairs timed,
    # why sampling stopped, the machine, when it was timed, and whether that timing was reused from the cache.
    p50_ratio_ci_low: float | None = None
    p50_ratio_ci_high: float | None = None
    pairs: int | None = None
    stopped: str = ""
    machine: str = ""
    timed_at: str = ""
    reused: bool = False


class VerdictLatency(BaseModel):
    """Latency ratios per backend measured on both sides, and how they were measured."""

    backends: dict[str, LatencyRatios] = Field(default_factory=dict)
    measured: str = ""


class PreprocessingComparison(BaseModel):
    """Did the candidate's preprocessing change against the baseline's? `changes` names every setting that
    differs (empty when nothing did); see gate.compare.preprocessing for how it is found."""

    changed: bool = False
    changes: list[str] = Field(default_factory=list)  # e.g. "channel_order: rgb -> bgr"
    probe: str = ""  # what the probe tensors say
    unchecked: list[str] = Field(default_factory=list)  # what could not be compared, and why


class GateVerdict(Artifact):
    what = "verdict"

    format: int = VERDICT_FORMAT
    kind: Literal["tsrgate_verdict"] = "tsrgate_verdict"
    tsrgate_version: str = __version__
    outcome: Literal["pass", "warn", "fail"]
    created_at: str
    policy: PolicyProvenance
    candidate: SideProvenance
    baseline: SideProvenance
    suites: list[str]
    bootstrap: BootstrapSettings
    # method, alpha, power, family name and size, rules that opted out (None in verdicts written before it)
    multiplicity: FamilySummary | None = None
    # the candidate's preprocessing against the baseline's (a change is named first in every report)
    preprocessing: PreprocessingComparison | None = None
    latency: VerdictLatency = Field(default_factory=VerdictLatency)
    counts: dict[str, int]
    outcomes: list[RuleOutcome]
    comparisons: list[MetricComparison]
    notes: list[str] = Field(default_factory=list)
    sequences: list[SequenceSummary] = Field(default_factory=list)  # drive suites: timelines for the report

    def failing(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if o.outcome == "fail"]

    def warnings(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if o.outcome == "warn"]

    def undetectable(self) -> list[RuleOutcome]:
        """Rules whose test passed but could not have seen a regression of the allowed size."""
        return [o for o in self.outcomes if o.outcome == "cannot_detect"]

    @classmethod
    def describe_invalid(cls, exc: ValidationError) -> str:
        # Verdicts are edited by hand to argue with them; name the field the way a JSON path reads.
        err = exc.errors()[0]
        return f"field '{'.'.join(map(str, err['loc']))}': {err['msg']}"

    @classmethod
    def check_header(cls, raw: object, path: Path) -> None:
        if not isinstance(raw, dict) or raw.get("kind") != "tsrgate_verdict":
            raise InputError("not a tsrgate verdict (field 'kind' is not 'tsrgate_verdict')", path=path)
        if raw.get("format") != VERDICT_FORMAT:
            raise InputError(f"field 'format': verdict format {raw.get('format')!r} is not supported "
                             f"(this tsrgate reads {VERDICT_FORMAT})", path=path)


def overall_outcome(outcomes: list[RuleOutcome]) -> Literal["pass", "warn", "fail"]:
    kinds = {o.outcome for o in outcomes}
    return "fail" if "fail" in kinds else "warn" if "warn" in kinds else "pass"


def load_verdict(path: str | Path) -> GateVerdict:
    """Load a verdict file; one from another tsrgate format or a hand-edited one is a one-line error naming the field."""
    verdict = GateVerdict.load(path)
    expected = overall_outcome(verdict.outcomes)
    if verdict.outcome != expected:
        raise InputError(f"field 'outcome': says {verdict.outcome!r} but its rules give {expected!r} (edited by hand?)",
                         path=path)
    return verdict
