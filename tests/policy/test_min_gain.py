"""`check.min_gain`: a rule that asks for an improvement, demonstrated by the whole bootstrap CI."""

from __future__ import annotations

import pytest

from gate.policy.evaluate import MetricComparison, apply_policy
from gate.policy.schema import Policy, default_policy_path, load_policy


def _outcome(rule: dict, **row) -> str:
    policy = Policy.model_validate({"version": 1, "name": "t", "rules": [{"id": "gain", **rule}]})
    comparison = MetricComparison(suite="italy-clean", backend="torch", **row)
    [result] = apply_policy(policy, [comparison])
    return result.outcome


GAIN_AP = {"metric": "ap", "scope": {"suites": ["italy-*"], "backends": ["torch"]}, "check": {"min_gain": 0.0}}


@pytest.mark.parametrize("delta, ci, expected", [
    (0.10, (0.04, 0.16), "pass"),    # the whole CI above zero: a demonstrated gain
    (0.05, (-0.01, 0.11), "fail"),   # a gain on the point estimate only
    (-0.03, (-0.08, 0.02), "fail"),  # no gain
])
def test_a_gain_must_be_significant(delta, ci, expected):
    row = dict(metric="ap", candidate=0.3 + delta, baseline=0.3, delta=delta, ci_low=ci[0], ci_high=ci[1])
    assert _outcome(GAIN_AP, **row) == expected


def test_without_significance_the_point_estimate_decides():
    rule = {**GAIN_AP, "significance": "none", "check": {"min_gain": 0.02}}
    row = dict(metric="ap", candidate=0.35, baseline=0.3, delta=0.05, ci_low=-0.01, ci_high=0.11)
    assert _outcome(rule, **row) == "pass"
    assert _outcome(rule, **{**row, "delta": 0.01, "candidate": 0.31}) == "fail"


def test_a_lower_is_better_metric_gains_by_falling():
    rule = {"metric": "fp_per_image", "scope": {"suites": ["italy-*"]}, "check": {"min_gain": 0.0}}
    row = dict(metric="fp_per_image", candidate=0.5, baseline=0.8, delta=-0.3, ci_low=-0.45, ci_high=-0.12)
    assert _outcome(rule, **row) == "pass"
    assert _outcome(rule, **{**row, "ci_high": 0.05}) == "fail"


def test_the_region_expansion_policy_loads_and_asks_both_questions():
    policy, _ = load_policy(default_policy_path("region-expansion"))
    gains = [r for r in policy.rules if r.check.min_gain is not None]
    drops = [r for r in policy.rules if r.check.max_drop == 0.0]
    assert gains and all(r.scope.suites == ["italy-*"] for r in gains)
    assert drops and all(r.scope.suites == ["gtsdb-*"] for r in drops)
