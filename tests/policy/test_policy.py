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


def test_warn_when_point_beyond_but_not_significant():
    # se from the CI: 0.25 / 3.92 = 0.0638; z = (0.10 - 0.02) / 0.0638 = 1.25; p = 0.105 > alpha 0.05
    [out] = apply_policy(policy_with({"metric": "ap", "check": {"max_drop": 0.02}}), [row(ci_low=-0.2, ci_high=0.05)])
    assert out.outcome == "warn" and "not significant" in out.reason
    assert out.p_value == pytest.approx(0.105, abs=0.002)


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
    better = row(metric="fp_per_image", candidate=0.3, baseline=0.5, delta=-0.2, ci_low=-0.22, ci_high=-0.18)
    outs = apply_policy(policy_with(rule), [worse, better])
    assert [o.outcome for o in outs] == ["fail", "pass"]
    assert "rose 0.400" in outs[0].reason


def test_relative_drop():
    rule = {"metric": "ap", "check": {"max_relative_drop": 0.10}}
    [out] = apply_policy(policy_with(rule), [row(candidate=0.62, delta=-0.08, ci_low=-0.085, ci_high=-0.075)])
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


# ---- multiplicity: one family of fail-severity tests --------------------------------------------------


def family_policy(method: str, opt_out: bool = False) -> Policy:
    rules = [{"id": "a", "metric": "ap", "check": {"max_drop": 0.02}},
             {"id": "b", "metric": "ap50", "check": {"max_drop": 0.02}, **({"opt_out": "fail-rules"} if opt_out else {})},
             {"id": "c", "metric": "ar100", "check": {"max_drop": 0.02}}]
    return Policy.model_validate({"name": "t", "multiplicity": {"method": method, "alpha": 0.05}, "rules": rules})


def family_rows() -> list[MetricComparison]:
    # worsening 0.05 against 0.02 at se 0.015: z = 2, p = 0.02275 each; the third row is no worse
    return [row(metric="ap", delta=-0.05, se=0.015), row(metric="ap50", delta=-0.05, se=0.015),
            row(metric="ar100", delta=0.0, se=0.001)]


def test_without_control_each_borderline_rule_fails():
    outs = apply_policy(family_policy("none"), family_rows())
    assert [o.outcome for o in outs] == ["fail", "fail", "pass"]
    assert outs[0].p_value == pytest.approx(0.02275, abs=1e-5) and outs[0].p_adjusted == outs[0].p_value


def test_holm_across_the_family_turns_borderline_fails_into_warnings():
    outs = apply_policy(family_policy("holm"), family_rows())
    # Holm over 3: 3 * 0.02275 = 0.068 and 2 * 0.02275 -> running max 0.068: both above alpha 0.05
    assert [o.outcome for o in outs] == ["warn", "warn", "pass"]
    assert outs[0].p_adjusted == pytest.approx(3 * 0.0227501, abs=1e-6) and all(o.in_family for o in outs)


def test_a_rule_that_opts_out_is_tested_alone():
    outs = apply_policy(family_policy("holm", opt_out=True), family_rows())
    # family {a, c}: a's adjusted p = 2 * 0.02275 = 0.0455 < 0.05; b alone: 0.02275
    assert [o.outcome for o in outs] == ["fail", "fail", "pass"]
    assert not outs[1].in_family and outs[1].p_adjusted == outs[1].p_value


def test_cannot_detect_when_the_mdc_exceeds_the_allowed_change():
    policy = Policy.model_validate({"name": "t", "multiplicity": {"method": "none"},
                                    "rules": [{"id": "a", "metric": "ap", "check": {"max_drop": 0.02}}]})
    # se 0.02: MDC = (1.645 + 0.842) * 0.02 = 0.0497 > 0.02, and nothing got worse
    [out] = apply_policy(policy, [row(delta=0.0, se=0.02)])
    assert out.outcome == "cannot_detect"
    assert out.mdc == pytest.approx(0.0497295, abs=1e-6)
    # SE ~ 1/sqrt(n): 100 instances * (0.0497 / 0.02)^2 = 619 instances
    assert out.support_needed == 619
    [fine] = apply_policy(policy, [row(delta=0.0, se=0.005)])
    assert fine.outcome == "pass" and fine.mdc < 0.02


@pytest.mark.parametrize(
    "text, key",
    [
        ("name: x\nmultiplicity: {method: bonferroni}\nrules: [{id: a, metric: ap, check: {max_drop: 0.1}}]",
         "multiplicity.method"),
        ("name: x\nmultiplicity: {alpha: 1.5}\nrules: [{id: a, metric: ap, check: {max_drop: 0.1}}]", "multiplicity.alpha"),
        ("name: x\nmultiplicity: {alpha: 0}\nrules: [{id: a, metric: ap, check: {max_drop: 0.1}}]", "multiplicity.alpha"),
        ("name: x\nmultiplicity: {power: 1.0}\nrules: [{id: a, metric: ap, check: {max_drop: 0.1}}]", "multiplicity.power"),
        ("name: x\nrules: [{id: a, metric: ap, check: {max_drop: 0.1}, opt_out: safety}]", "rules.0.opt_out"),
    ],
)
def test_bad_multiplicity_settings_are_one_line_errors(tmp_path, text, key):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_policy(path)
    message = str(info.value)
    assert str(path) in message and key in message and "\n" not in message
