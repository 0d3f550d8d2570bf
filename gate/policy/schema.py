"""The policy file: a list of rules, validated strictly so a typo is an error, not a silent pass."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gate.inputs import load_model
from gate.policy.metrics import GATE_METRICS
from gate.storage import sha256_file

Selector = Literal["all"] | list[str]


class Scope(BaseModel):
    """Where a rule applies. Names may be shell-style patterns (`speed_limit_*`, `gtsdb-*`).

    `classes` / `sizes` left out means the rule looks at the whole suite (all classes, all sizes);
    `"all"` means one check per class (or size bucket). Every name listed must match something in
    the compared results (a typo is a policy error, see gate.policy.scopes) unless `optional` is
    true: then names the results lack are allowed and a rule matching nothing reports "not run".
    """

    model_config = ConfigDict(extra="forbid")

    suites: Selector = "all"
    backends: Selector = Field(default_factory=lambda: ["torch"])
    classes: Selector | None = None
    sizes: Selector | None = None
    optional: bool = False


class Check(BaseModel):
    """Thresholds. Drops are measured in the metric's worse direction (an FP increase is a drop)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # a NaN threshold would never be crossed

    min_value: float | None = None  # absolute floor (for higher-is-better metrics)
    max_value: float | None = None  # absolute ceiling (for lower-is-better metrics)
    max_drop: float | None = Field(default=None, ge=0)  # allowed absolute worsening vs the baseline
    max_relative_drop: float | None = Field(default=None, ge=0)  # allowed worsening as a fraction of the baseline
    # required improvement vs the baseline; with bootstrap significance the whole CI must be above it
    min_gain: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _at_least_one(self) -> Check:
        if all(v is None for v in (self.min_value, self.max_value, self.max_drop, self.max_relative_drop,
                                   self.min_gain)):
            raise ValueError("a check needs at least one of min_value, max_value, max_drop, max_relative_drop, "
                             "min_gain")
        return self

    @property
    def compares_to_baseline(self) -> bool:
        return self.max_drop is not None or self.max_relative_drop is not None or self.min_gain is not None


class Requirement(BaseModel):
    """The requirement a rule gives evidence for (traced in the sign-off: requirement -> rules -> outcome)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    text: str = Field(min_length=1)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    description: str = ""
    metric: str
    scope: Scope = Field(default_factory=Scope)
    check: Check
    # bootstrap: fail only when the whole CI is beyond the allowed drop, warn when only the point is;
    # none: compare the point estimate alone.
    significance: Literal["bootstrap", "none"] = "bootstrap"
    min_support: int | None = Field(default=None, ge=0)
    severity: Literal["fail", "warn"] = "fail"
    # For metric `confusion`: ground-truth class patterns and predicted class patterns.
    between: tuple[list[str], list[str]] | None = None
    # The multiplicity family this rule leaves (e.g. a safety rule that must never be diluted by the
    # family's size): its test then runs alone at the policy's alpha.
    opt_out: str | None = None
    requirement: Requirement | None = None

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        if value not in GATE_METRICS:
            raise ValueError(f"unknown metric {value!r}; known: {', '.join(sorted(GATE_METRICS))}")
        return value

    @model_validator(mode="after")
    def _scope_fits_metric(self) -> Rule:
        metric = GATE_METRICS[self.metric]
        if self.scope.classes is not None and not metric.per_class:
            raise ValueError(f"metric {self.metric!r} cannot be scoped to classes")
        if self.scope.sizes is not None and not metric.per_size:
            raise ValueError(f"metric {self.metric!r} cannot be scoped to size buckets")
        if (self.metric == "confusion") != (self.between is not None):
            raise ValueError("`between` is required for metric 'confusion' and only allowed there")
        return self


class SequenceSettings(BaseModel):
    """How sequence metrics confirm a sign: the right class in `k` of `m` consecutive frames, detections
    associated with ground truth at IoU >= `iou`."""

    model_config = ConfigDict(extra="forbid")

    k: int = Field(default=2, ge=1)
    m: int = Field(default=3, ge=1)
    iou: float = Field(default=0.5, gt=0, le=1)

    @model_validator(mode="after")
    def _k_within_m(self) -> SequenceSettings:
        if self.k > self.m:
            raise ValueError(f"sequence.k ({self.k}) cannot exceed sequence.m ({self.m})")
        return self


class LatencyStatistic(BaseModel):
    """How the latency rules' p50 ratio is measured: candidate and baseline timed interleaved (A B A B),
    a paired-bootstrap CI of the ratio of medians after every `step` pairs from `min_pairs` on, stopping
    as soon as the CI's half-width is at most `tolerance` (relative: 0.05 = the ratio known to +-5%),
    or at `max_pairs`."""

    model_config = ConfigDict(extra="forbid")

    tolerance: float = Field(default=0.05, gt=0.0, lt=1.0)
    min_pairs: int = Field(default=20, ge=5)
    max_pairs: int = Field(default=200, ge=5)
    step: int = Field(default=10, ge=1)
    resamples: int = Field(default=500, ge=100)

    @model_validator(mode="after")
    def _min_within_max(self) -> LatencyStatistic:
        if self.min_pairs > self.max_pairs:
            raise ValueError(f"latency.min_pairs ({self.min_pairs}) cannot exceed latency.max_pairs ({self.max_pairs})")
        return self


class PolicyDefaults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_support: int = Field(default=10, ge=0)
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    resamples: int = Field(default=1000, ge=100)
    seed: int = 0
    sequence: SequenceSettings = Field(default_factory=SequenceSettings)
    latency: LatencyStatistic = Field(default_factory=LatencyStatistic)


class Multiplicity(BaseModel):
    """Error control across the family of rule tests of one verdict.

    `holm` bounds the family-wise error (the chance of any false FAIL), `bh` the false-discovery rate,
    `none` tests every rule alone. The family is every bootstrap-tested scope of the fail-severity rules
    (less those that opt out); `power` is the target for the minimum detectable change.
    """

    model_config = ConfigDict(extra="forbid")

    method: Literal["holm", "bh", "none"] = "holm"
    alpha: float = Field(default=0.05, gt=0.0, lt=1.0)
    power: float = Field(default=0.8, gt=0.0, lt=1.0)
    family: str = Field(default="fail-rules", min_length=1)


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    name: str
    description: str = ""
    defaults: PolicyDefaults = Field(default_factory=PolicyDefaults)
    multiplicity: Multiplicity = Field(default_factory=Multiplicity)
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Policy:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"duplicate rule id {rule.id!r}")
            seen.add(rule.id)
        return self

    @model_validator(mode="after")
    def _opt_outs_name_the_family(self) -> Policy:
        for index, rule in enumerate(self.rules):
            if rule.opt_out is not None and rule.opt_out != self.multiplicity.family:
                raise ValueError(f"rules.{index}.opt_out: rule {rule.id!r} opts out of family {rule.opt_out!r}, "
                                 f"which does not exist (the policy's family is {self.multiplicity.family!r})")
        return self

    @model_validator(mode="after")
    def _one_text_per_requirement(self) -> Policy:
        texts: dict[str, tuple[str, str]] = {}
        for rule in self.rules:
            if rule.requirement is None:
                continue
            first = texts.setdefault(rule.requirement.id, (rule.requirement.text, rule.id))
            if first[0] != rule.requirement.text:
                raise ValueError(f"requirement {rule.requirement.id!r} has different texts in rules "
                                 f"{first[1]!r} and {rule.id!r}")
        return self


def default_policy_path(name: str = "default") -> Path:
    return Path(__file__).resolve().parent.parent / "policies" / f"{name}.yaml"


def load_policy(path: str | Path | None = None) -> tuple[Policy, str]:
    """Load and validate a policy file; returns the policy and the file's sha256 (for provenance)."""
    path = Path(path) if path is not None else default_policy_path()
    policy = load_model(path, Policy, "policy", fmt="yaml")
    return policy, sha256_file(path)
