"""The policy file: a list of rules, validated strictly so a typo is an error, not a silent pass."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gate.errors import InputError, describe_validation_error
from gate.policy.metrics import GATE_METRICS
from gate.storage import sha256_file

Selector = Literal["all"] | list[str]


class Scope(BaseModel):
    """Where a rule applies. Names may be shell-style patterns (`speed_limit_*`, `gtsdb-*`).

    `classes` / `sizes` left out means the rule looks at the whole suite (all classes, all sizes);
    `"all"` means one check per class (or size bucket).
    """

    model_config = ConfigDict(extra="forbid")

    suites: Selector = "all"
    backends: Selector = Field(default_factory=lambda: ["torch"])
    classes: Selector | None = None
    sizes: Selector | None = None


class Check(BaseModel):
    """Thresholds. Drops are measured in the metric's worse direction (an FP increase is a drop)."""

    model_config = ConfigDict(extra="forbid")

    min_value: float | None = None  # absolute floor (for higher-is-better metrics)
    max_value: float | None = None  # absolute ceiling (for lower-is-better metrics)
    max_drop: float | None = Field(default=None, ge=0)  # allowed absolute worsening vs the baseline
    max_relative_drop: float | None = Field(default=None, ge=0)  # allowed worsening as a fraction of the baseline

    @model_validator(mode="after")
    def _at_least_one(self) -> Check:
        if all(v is None for v in (self.min_value, self.max_value, self.max_drop, self.max_relative_drop)):
            raise ValueError("a check needs at least one of min_value, max_value, max_drop, max_relative_drop")
        return self

    @property
    def compares_to_baseline(self) -> bool:
        return self.max_drop is not None or self.max_relative_drop is not None


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


class PolicyDefaults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_support: int = Field(default=10, ge=0)
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    resamples: int = Field(default=1000, ge=100)
    seed: int = 0
    sequence: SequenceSettings = Field(default_factory=SequenceSettings)


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    name: str
    description: str = ""
    defaults: PolicyDefaults = Field(default_factory=PolicyDefaults)
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Policy:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"duplicate rule id {rule.id!r}")
            seen.add(rule.id)
        return self


def default_policy_path(name: str = "default") -> Path:
    return Path(__file__).resolve().parent.parent / "policies" / f"{name}.yaml"


def load_policy(path: str | Path | None = None) -> tuple[Policy, str]:
    """Load and validate a policy file; returns the policy and the file's sha256 (for provenance)."""
    path = Path(path) if path is not None else default_policy_path()
    if not path.is_file():
        raise InputError("policy file not found", path=path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML ({str(exc).splitlines()[0]})", path=path) from None
    try:
        policy = Policy.model_validate(raw)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, "policy"), path=path) from None
    return policy, sha256_file(path)
