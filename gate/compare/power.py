"""Power per rule and scope on one suite: the minimum detectable change and the images a suite needs.

With a baseline, the standard errors are the paired bootstrap's between the two (what a compare of
them would see). With one model, a paired delta's standard error is estimated as sqrt(2) times the
model's own bootstrap standard error: two models of this quality whose errors are independent. That
is an upper bound; models that share most of their errors (a candidate fine-tuned from the baseline)
see smaller paired errors, so pass the baseline when there is one.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from pydantic import BaseModel

from gate.compare.comparisons import suite_accuracy_rows
from gate.eval.records import MatchRecords
from gate.policy import Policy, apply_policy
from gate.policy.stats import per_test_alpha


class PowerRow(BaseModel):
    rule_id: str
    severity: str
    scope: str  # class or size bucket, or "overall"
    support: int | None
    allowed_change: float
    se: float
    mdc: float
    caught_at: float  # the worsening caught 80% of the time: allowed change + MDC
    images_needed: int | None  # for the MDC to reach the allowed change (SE ~ 1 / sqrt(images))
    detectable: bool


class SuitePower(BaseModel):
    suite: str
    images: int
    paired_with: str  # the baseline, or the sqrt(2) single-model estimate
    method: str
    alpha: float
    power: float
    family_size: int
    per_test_alpha: float
    rows: list[PowerRow]


def _empty_like(records: MatchRecords) -> MatchRecords:
    """The same ground truth with no detections: bootstrapping against it gives the model's own SE."""
    keep = np.zeros(records.num_detections, dtype=bool)
    fields = {name: getattr(records, name)[keep] for name in (
        "det_image", "det_category", "det_score", "det_bbox", "det_rank", "det_index", "det_tp", "det_ignored",
        "det_gt50", "det_agnostic_gt", "det_in_ignore", "det_tide", "det_tide_gt")}
    return replace(records, **fields)


def suite_power(policy: Policy, suite: str, model: MatchRecords, threshold: float, *,
                baseline: MatchRecords | None = None, baseline_threshold: float | None = None,
                family_size: int | None = None, baseline_name: str = "the baseline") -> SuitePower:
    """MDC and images needed for every bootstrap-tested rule and scope of `policy` on one suite (torch)."""
    if baseline is not None:
        rows = suite_accuracy_rows(policy, suite, "torch", model, baseline, candidate_threshold=threshold,
                                   baseline_threshold=baseline_threshold if baseline_threshold is not None else threshold)
        paired = f"paired with {baseline_name}"
    else:
        alone = suite_accuracy_rows(policy, suite, "torch", model, _empty_like(model), candidate_threshold=threshold,
                                    baseline_threshold=threshold)
        # no change, sqrt(2) x the model's own SE (independent errors)
        rows = [r.model_copy(update={"baseline": r.candidate, "delta": 0.0, "ci_low": None, "ci_high": None,
                                     "se": None if r.se is None else r.se * math.sqrt(2.0)}) for r in alone]
        paired = "alone: sqrt(2) x its own bootstrap SE (independent errors; an upper bound)"
    outcomes = apply_policy(policy, rows, family_size=family_size)
    size = max(sum(1 for o in outcomes if o.in_family), family_size or 0)
    out = []
    for o in outcomes:
        if o.mdc is None or o.allowed_change is None or o.se is None:
            continue
        factor = (o.mdc / o.allowed_change) ** 2 if o.allowed_change > 0 else math.inf
        out.append(PowerRow(
            rule_id=o.rule_id, severity=o.severity, scope=" / ".join(p for p in (o.class_name, o.size) if p) or "overall",
            support=o.support, allowed_change=o.allowed_change, se=o.se, mdc=o.mdc, caught_at=o.allowed_change + o.mdc,
            images_needed=None if not math.isfinite(factor) else int(math.ceil(model.num_images * factor - 1e-9)),
            detectable=o.mdc <= o.allowed_change,
        ))
    settings = policy.multiplicity
    return SuitePower(suite=suite, images=model.num_images, paired_with=paired, method=settings.method,
                      alpha=settings.alpha, power=settings.power, family_size=size,
                      per_test_alpha=per_test_alpha(settings.alpha, settings.method, size), rows=out)
