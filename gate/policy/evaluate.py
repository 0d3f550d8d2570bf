"""Applying a policy's rules to metric comparisons, one outcome per rule and matched scope."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Literal

from pydantic import BaseModel

from gate.policy.metrics import GATE_METRICS
from gate.policy.schema import Policy, Rule, Selector
from gate.policy.stats import (
    adjust_p_values, minimum_detectable_change, p_value_beyond_allowed, per_test_alpha, sample_needed,
    se_from_interval,
)

# cannot_detect: the rule's test passed, but its minimum detectable change is larger than the allowed
# change, so a regression of the allowed size would most likely have passed too.
Outcome = Literal["pass", "warn", "fail", "insufficient_support", "not_run", "cannot_detect"]


class MetricComparison(BaseModel):
    """One metric in one scope: candidate and baseline values and the paired-bootstrap delta.

    `class_name` None means the whole suite; `size` None means every size. For consistency and
    latency metrics the "baseline" is the reference the metric is measured against. `status`
    other than "ok" says why the value is missing (a backend not run, and why).
    """

    metric: str
    suite: str | None = None
    backend: str | None = None
    class_name: str | None = None
    size: str | None = None
    candidate: float | None = None
    baseline: float | None = None
    delta: float | None = None  # candidate - baseline
    ci_low: float | None = None
    ci_high: float | None = None
    p_worse: float | None = None
    support: int | None = None  # ground-truth instances behind the number
    se: float | None = None  # paired-bootstrap standard deviation of the delta
    status: Literal["ok", "not_run"] = "ok"
    status_reason: str = ""


class RuleOutcome(BaseModel):
    rule_id: str
    metric: str
    severity: Literal["fail", "warn"]
    suite: str | None = None
    backend: str | None = None
    class_name: str | None = None
    size: str | None = None
    outcome: Outcome
    value: float | None = None
    baseline: float | None = None
    delta: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_worse: float | None = None
    support: int | None = None
    allowed: str = ""
    reason: str
    # The rule's test (bootstrap-judged rules with a baseline): H0 "within the allowed change".
    allowed_change: float | None = None  # allowed worsening in the metric's units
    p_value: float | None = None  # one-sided, against the allowed change
    p_adjusted: float | None = None  # after the family's multiplicity adjustment (= p_value outside it)
    in_family: bool = False
    se: float | None = None
    mdc: float | None = None  # minimum detectable change at the test's level and the policy's power
    support_needed: int | None = None  # ground truths the scope would need for its MDC to reach the allowed change

    @property
    def scope_label(self) -> str:
        parts = [p for p in (self.suite, self.backend, self.class_name, self.size) if p]
        return " / ".join(parts) if parts else "overall"


def selector_matches(selector: Selector | None, value: str | None, wants_breakdown: bool) -> bool:
    """Scope matching: a breakdown selector matches only rows of that breakdown, and vice versa."""
    if selector is None:
        return value is None if wants_breakdown else True
    if value is None:
        return False
    if selector == "all":
        return True
    return any(fnmatchcase(value, pattern) for pattern in selector)


def _row_in_scope(rule: Rule, row: MetricComparison) -> bool:
    if row.metric != rule.metric:
        return False
    scope = rule.scope
    if rule.metric == "confusion":
        if row.class_name is None or "->" not in row.class_name:
            return False
        truth, predicted = row.class_name.split("->", 1)
        gt_patterns, pred_patterns = rule.between
        return (
            selector_matches(scope.suites, row.suite, False)
            and any(fnmatchcase(truth, p) for p in gt_patterns)
            and any(fnmatchcase(predicted, p) for p in pred_patterns)
        )
    return (
        (row.suite is None or selector_matches(scope.suites, row.suite, False))
        and (row.backend is None or selector_matches(scope.backends, row.backend, False))
        and selector_matches(scope.classes, row.class_name, True)
        and selector_matches(scope.sizes, row.size, True)
    )


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _judge(rule: Rule, row: MetricComparison, min_support: int, confidence: float) -> RuleOutcome:
    metric = GATE_METRICS[rule.metric]
    base = dict(
        rule_id=rule.id, metric=rule.metric, severity=rule.severity, suite=row.suite, backend=row.backend,
        class_name=row.class_name, size=row.size, value=row.candidate, baseline=row.baseline,
        delta=row.delta, ci_low=row.ci_low, ci_high=row.ci_high, p_worse=row.p_worse, support=row.support,
    )
    label = " ".join(p for p in (rule.metric, "on", row.suite or "all suites", f"({row.backend})" if row.backend else "",
                                 f"class {row.class_name}" if row.class_name else "", f"size {row.size}" if row.size else "") if p)
    if row.status == "not_run" or row.candidate is None:
        return RuleOutcome(**base, outcome="not_run", reason=f"{label}: not run ({row.status_reason or 'no value'})")
    needs_support = row.class_name is not None or row.size is not None
    if needs_support and row.support is not None and row.support < min_support:
        return RuleOutcome(
            **base, outcome="insufficient_support",
            reason=f"{label}: {row.support} ground-truth instances < min_support {min_support}; not judged",
        )

    sign = 1.0 if metric.higher_is_better else -1.0
    worse_word = "dropped" if metric.higher_is_better else "rose"
    check = rule.check
    violations_hard: list[str] = []  # beyond the limit with confidence (or no CI asked for)
    violations_soft: list[str] = []  # point estimate beyond, CI not
    allowed: list[str] = []

    if check.min_value is not None:
        allowed.append(f">= {check.min_value:g}")
        if row.candidate < check.min_value:
            violations_hard.append(f"{_fmt(row.candidate)} is below the floor {check.min_value:g}")
    if check.max_value is not None:
        allowed.append(f"<= {check.max_value:g}")
        if row.candidate > check.max_value:
            problem = f"{_fmt(row.candidate)} is above the ceiling {check.max_value:g}"
            if metric.kind == "latency" and row.ci_low is not None and row.ci_high is not None:
                # A timed ratio is a statistic: beyond the ceiling only when its whole CI is.
                problem += f" ({confidence:.0%} CI {_fmt(row.ci_low)} to {_fmt(row.ci_high)})"
                (violations_hard if row.ci_low > check.max_value else violations_soft).append(problem)
            else:
                violations_hard.append(problem)

    limits: list[tuple[float, str]] = []
    if check.compares_to_baseline and row.baseline is not None and row.delta is not None:
        if check.max_drop is not None:
            limits.append((check.max_drop, f"the allowed drop {check.max_drop:g}"))
        if check.max_relative_drop is not None:
            limit = check.max_relative_drop * abs(row.baseline)
            limits.append((limit, f"the allowed {check.max_relative_drop:.0%} of {_fmt(row.baseline)}"))
    elif check.compares_to_baseline and check.min_value is None and check.max_value is None:
        return RuleOutcome(**base, outcome="not_run", reason=f"{label}: no baseline value to compare with")

    tested: dict = {}
    se = row.se if row.se is not None else se_from_interval(row.ci_low, row.ci_high, confidence)
    if limits and rule.significance == "bootstrap" and se is not None:
        # One test against the tightest allowed change; the decision waits for the family's adjustment.
        limit, limit_text = min(limits, key=lambda item: item[0])
        worsening = -sign * row.delta
        allowed.append(f"{'drop' if metric.higher_is_better else 'rise'} <= {limit:.3g}")
        tested = dict(allowed_change=limit, se=se, p_value=p_value_beyond_allowed(worsening, limit, se))
        if worsening > limit:
            ci_text = (f" ({confidence:.0%} CI {_fmt(row.ci_low)} to {_fmt(row.ci_high)})"
                       if row.ci_low is not None and row.ci_high is not None else "")
            violations_soft.append(f"{worse_word} {abs(row.delta):.3f} from {_fmt(row.baseline)} to "
                                   f"{_fmt(row.candidate)}{ci_text}, beyond {limit_text}")
    else:
        for limit, limit_text in limits:
            allowed.append(f"{'drop' if metric.higher_is_better else 'rise'} <= {limit:.3g}")
            worsening = -sign * row.delta  # > 0 means worse
            if worsening > limit:
                violations_hard.append(f"{worse_word} {abs(row.delta):.3f} from {_fmt(row.baseline)} to "
                                       f"{_fmt(row.candidate)}, beyond {limit_text}")

    if check.min_gain is not None and row.baseline is not None and row.delta is not None:
        gain_problem = _missing_gain(rule, row, sign, confidence)
        allowed.append(f"gain > {check.min_gain:g}" + (" (whole CI)" if rule.significance == "bootstrap" else ""))
        if gain_problem:
            violations_hard.append(gain_problem)

    allowed_text = ", ".join(allowed)
    if violations_hard:
        outcome = rule.severity
        return RuleOutcome(**base, **tested, outcome=outcome, allowed=allowed_text,
                           reason=f"{label}: " + "; ".join(violations_hard))
    if violations_soft:
        return RuleOutcome(**base, **tested, outcome="warn", allowed=allowed_text,
                           reason=f"{label}: " + "; ".join(violations_soft))
    delta_text = f", delta {row.delta:+.3f}" if row.delta is not None else ""
    return RuleOutcome(**base, **tested, outcome="pass", allowed=allowed_text,
                       reason=f"{label}: {_fmt(row.candidate)}{delta_text} within limits")


def _missing_gain(rule: Rule, row: MetricComparison, sign: float, confidence: float) -> str | None:
    """Why a required gain (`check.min_gain`) is not shown, or None when it is.

    With bootstrap significance the gain must hold at the CI's least-favourable end: a gain whose CI
    reaches down to `min_gain` is not a demonstrated gain."""
    assert rule.check.min_gain is not None and row.delta is not None
    gain = sign * row.delta
    has_ci = row.ci_low is not None and row.ci_high is not None
    ci_text = f" ({confidence:.0%} CI of the delta {_fmt(row.ci_low)} to {_fmt(row.ci_high)})" if has_ci else ""
    if rule.significance == "bootstrap" and has_ci:
        least_gain = row.ci_low if sign > 0 else -row.ci_high
        if least_gain > rule.check.min_gain:
            return None
        return (f"gain {gain:+.3f} from {_fmt(row.baseline)} to {_fmt(row.candidate)}{ci_text} is not "
                f"significantly above the required {rule.check.min_gain:g}")
    if gain > rule.check.min_gain:
        return None
    return (f"gain {gain:+.3f} from {_fmt(row.baseline)} to {_fmt(row.candidate)} is not above the required "
            f"{rule.check.min_gain:g}")


def _decide(outcome: RuleOutcome, rule: Rule, alpha: float, power: float, level: float) -> RuleOutcome:
    """Turn a tested outcome into its final one: significant -> the rule's severity; else warn when the
    point estimate is beyond the allowed change; else cannot_detect when the test could not see it."""
    mdc = minimum_detectable_change(outcome.se, level, power)
    needed = sample_needed(outcome.support or 0, mdc, outcome.allowed_change) if mdc is not None else None
    update: dict = {"mdc": mdc, "support_needed": needed}
    if outcome.p_adjusted is not None and outcome.p_adjusted < alpha:
        update["outcome"] = rule.severity
        update["reason"] = outcome.reason + (f"; p {outcome.p_value:.2g} against the allowed change"
                                             + (f", adjusted {outcome.p_adjusted:.2g}" if outcome.in_family else ""))
    elif outcome.outcome == "warn":
        update["reason"] = outcome.reason + f"; not significant (p {outcome.p_adjusted:.2g})"
    elif mdc is not None and mdc > outcome.allowed_change:
        update["outcome"] = "cannot_detect"
        update["reason"] = (outcome.reason + f"; cannot detect: MDC {mdc:.3f} > allowed {outcome.allowed_change:.3g}"
                            + (f", needs {needed} ground truths (has {outcome.support})" if needed else ""))
    return outcome.model_copy(update=update)


def apply_policy(policy: Policy, comparisons: list[MetricComparison],
                 family_size: int | None = None) -> list[RuleOutcome]:
    """Every rule against every comparison in its scope; a rule that matches nothing is `not_run`.

    `family_size` (for power planning on part of a compare) sets the family's size for the MDC when
    it is larger than the family found in `comparisons`."""
    outcomes: list[RuleOutcome] = []
    for rule in policy.rules:
        min_support = rule.min_support if rule.min_support is not None else policy.defaults.min_support
        rows = [row for row in comparisons if _row_in_scope(rule, row)]
        if not rows:
            outcomes.append(
                RuleOutcome(rule_id=rule.id, metric=rule.metric, severity=rule.severity, outcome="not_run",
                            reason=f"{rule.id}: no results in scope (suites {rule.scope.suites}, backends {rule.scope.backends})")
            )
            continue
        outcomes.extend(_judge(rule, row, min_support, policy.defaults.confidence) for row in rows)
    return control_family(policy, outcomes, family_size)


def in_family(policy: Policy, rule: Rule) -> bool:
    """Fail-severity rules are the family unless they opt out."""
    return rule.severity == "fail" and rule.opt_out != policy.multiplicity.family


def control_family(policy: Policy, outcomes: list[RuleOutcome], family_size: int | None = None) -> list[RuleOutcome]:
    """Adjust the family's p-values together, then decide every tested outcome."""
    settings = policy.multiplicity
    rules = {rule.id: rule for rule in policy.rules}
    tested = [i for i, o in enumerate(outcomes) if o.p_value is not None and o.outcome in ("pass", "warn")]
    family = [i for i in tested if in_family(policy, rules[outcomes[i].rule_id])]
    adjusted = adjust_p_values([outcomes[i].p_value for i in family], settings.method)
    out = list(outcomes)
    for i, p in zip(family, adjusted, strict=True):
        out[i] = out[i].model_copy(update={"p_adjusted": p, "in_family": True})
    family_level = per_test_alpha(settings.alpha, settings.method, max(len(family), family_size or 0))
    members = set(family)
    for i in tested:
        o = out[i] if i in members else out[i].model_copy(update={"p_adjusted": out[i].p_value})
        out[i] = _decide(o, rules[o.rule_id], settings.alpha, settings.power,
                         family_level if i in members else settings.alpha)
    return out


class FamilySummary(BaseModel):
    """What the verdict records about its multiplicity control (the policy's settings and the family's size)."""

    method: Literal["holm", "bh", "none"]
    alpha: float
    power: float
    family: str
    family_size: int
    per_test_alpha: float
    opted_out: list[str]
    test: str = "one-sided, H0: the candidate is within the allowed change; normal tail at the paired-bootstrap SE"


def family_summary(policy: Policy, outcomes: list[RuleOutcome]) -> FamilySummary:
    """What the verdict records about its multiplicity control."""
    settings = policy.multiplicity
    size = sum(1 for o in outcomes if o.in_family)
    return FamilySummary(method=settings.method, alpha=settings.alpha, power=settings.power, family=settings.family,
                         family_size=size, per_test_alpha=per_test_alpha(settings.alpha, settings.method, size),
                         opted_out=sorted(r.id for r in policy.rules if r.opt_out is not None))
