"""Policy schema validation and rule judgement, one named test per outcome."""

from __future__ import annotations

import pytest

from gate.errors import InputError
from gate.policy import MetricComparison, Policy, apply_policy, load_policy


def policy_with(rule: dict, **defaults) -> Policy:
    return Policy.model_validate({"name": "t", "defaults": defaults, "rules": [{"id": "r", **rule}]})


def row(**kw) -> MetricComparison:
    base = dict(metric="ap", suite="clean", backend="torch", candidate=0.60, baseline=0.70, delta=-0.10,
                ci_low=-0.14, ci_high=-0.06, support=100)
    base.update(kw)
    return MetricComparison(**base)


def test_default_policy_loads():
    policy, sha = load_policy()
    assert policy.name == "default" and len(sha) == 64
    assert any(r.metric == "confusion" for r in policy.rules)


@pytest.mark.parametrize(
    "text, message",
    [
        ("name: x\nrules: [{id: a, metric: mAP, check: {max_drop: 0.1}}]", "unknown metric 'mAP'"),
        ("name: x\nrules: [{id: a, metric: ap, scope: {suits: all}, check: {max_drop: 0.1}}]", "Extra inputs"),
        ("name: x\nrules: [{id: a, metric: ap, check: {}}]", "at least one of"),
        ("name: x\nrules: [{id: a, metric: fp_per_image, scope: {classes: all}, check: {max_drop: 1}}]", "cannot be scoped to classes"),
        ("name: x\nrules: [{id: a, metric: ap, check: {max_drop: 1}}, {id: a, metric: ap50, check: {max_drop: 1}}]", "duplicate rule id"),
        ("name: [unclosed", "not valid YAML"),
        ("name: x\nrules: [{id: a, metric: ap, check: {min_value: .nan}}]", "finite number"),
    ],
)
def test_bad_policy_is_one_line_error(tmp_path, text, message):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as info:
        load_policy(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_fail_when_whole_ci_beyond_allowed_drop():
    [out] = apply_policy(policy_with({"metric": "ap", "check": {"max_drop": 0.02}}), [row()])
    assert out.outcome == "fail"
    assert "dropped 0.100 from 0.700 to 0.600" in out.reason and "95% CI" in out.reason


def test_warn_when_point_beyond_but_ci_not():
    [out] = apply_policy(policy_with({"metric": "ap", "check": {"max_drop": 0.02}}), [row(ci_high=0.01)])
    assert out.outcome == "warn" and "does not exclude" in out.reason


def test_pass_within_limit():
    [out] = apply_policy(policy_with({"metric": "ap", "check": {"max_drop": 0.2}}), [row()])
    assert out.outcome == "pass"


def test_significance_none_uses_point_estimate():
    rule = {"metric": "ap", "check": {"max_drop": 0.02}, "significance": "none"}
    [out] = apply_policy(policy_with(rule), [row(ci_high=0.01)])
    assert out.outcome == "fail"


def test_warn_severity_never_fails():
    rule = {"metric": "ap", "check": {"max_drop": 0.02}, "severity": "warn"}
    [out] = apply_policy(policy_with(rule), [row()])
    assert out.outcome == "warn"


def test_lower_is_better_metric_direction():
    rule = {"metric": "fp_per_image", "check": {"max_drop": 0.1}}
    worse = row(metric="fp_per_image", candidate=0.9, baseline=0.5, delta=0.4, ci_low=0.3, ci_high=0.5)
    better = row(metric="fp_per_image", candidate=0.3, baseline=0.5, delta=-0.2, ci_low=-0.3, ci_high=-0.1)
    outs = apply_policy(policy_with(rule), [worse, better])
    assert [o.outcome for o in outs] == ["fail", "pass"]
    assert "rose 0.400" in outs[0].reason


def test_relative_drop():
    rule = {"metric": "ap", "check": {"max_relative_drop": 0.10}}
    [out] = apply_policy(policy_with(rule), [row(candidate=0.62, delta=-0.08, ci_low=-0.1, ci_high=-0.075)])
    assert out.outcome == "fail"  # allowed 0.07 of 0.70


def test_insufficient_support_for_classes():
    rule = {"metric": "ap50", "scope": {"classes": "all"}, "check": {"max_drop": 0.01}}
    rows = [row(metric="ap50", class_name="stop", support=3), row(metric="ap50", class_name="give_way", support=50)]
    outs = apply_policy(policy_with(rule, min_support=10), rows)
    assert [o.outcome for o in outs] == ["insufficient_support", "fail"]


def test_class_patterns_select_only_listed_classes():
    rule = {"metric": "ap50", "scope": {"classes": ["speed_limit_*"]}, "check": {"max_drop": 0.01}}
    rows = [row(metric="ap50", class_name=c) for c in ("speed_limit_30", "stop")] + [row(metric="ap50")]
    outs = apply_policy(policy_with(rule), rows)
    assert [o.class_name for o in outs] == ["speed_limit_30"]


def test_overall_rule_ignores_per_class_rows():
    rows = [row(), row(class_name="stop")]
    outs = apply_policy(policy_with({"metric": "ap", "check": {"max_drop": 0.5}}), rows)
    assert len(outs) == 1 and outs[0].class_name is None


def test_absolute_ceiling_for_backend_metric():
    rule = {"metric": "backend_ap_delta", "scope": {"backends": ["int8"]}, "check": {"max_value": 0.03}}
    r = row(metric="backend_ap_delta", backend="int8", candidate=0.2, baseline=None, delta=None, ci_low=None, ci_high=None)
    [out] = apply_policy(policy_with(rule), [r])
    assert out.outcome == "fail" and "above the ceiling" in out.reason


def test_not_run_backend_is_reported_not_passed():
    rule = {"metric": "backend_ap_delta", "scope": {"backends": ["tensorrt*"]}, "check": {"max_value": 0.03}}
    r = row(metric="backend_ap_delta", backend="tensorrt-fp16", candidate=None, status="not_run",
            status_reason="unavailable: no CUDA device")
    [out] = apply_policy(policy_with(rule), [r])
    assert out.outcome == "not_run" and "no CUDA device" in out.reason


def test_rule_matching_nothing_is_not_run():
    rule = {"metric": "ap", "scope": {"suites": ["night"]}, "check": {"max_drop": 0.02}}
    [out] = apply_policy(policy_with(rule), [row()])
    assert out.outcome == "not_run"


def test_confusion_rule_between_speed_limits():
    rule = {"metric": "confusion", "between": [["speed_limit_*"], ["speed_limit_*"]], "check": {"max_drop": 0.02}}
    rows = [
        row(metric="confusion", class_name="speed_limit_30->speed_limit_80", candidate=0.10, baseline=0.02,
            delta=0.08, ci_low=0.05, ci_high=0.11),
        row(metric="confusion", class_name="stop->give_way", candidate=0.2, baseline=0.0, delta=0.2,
            ci_low=0.1, ci_high=0.3),
    ]
    outs = apply_policy(policy_with(rule), rows)
    assert len(outs) == 1 and outs[0].outcome == "fail"
