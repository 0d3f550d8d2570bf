"""Applying a policy's rules to metric comparisons, one outcome per rule and matched scope."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Literal

from pydantic import BaseModel

from gate.policy.metrics import GATE_METRICS
from gate.policy.schema import Policy, Rule, Selector

Outcome = Literal["pass", "warn", "fail", "insufficient_support", "not_run"]


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
            violations_hard.append(f"{_fmt(row.candidate)} is above the ceiling {check.max_value:g}")

    limits: list[tuple[float, str]] = []
    if check.compares_to_baseline and row.baseline is not None and row.delta is not None:
        if check.max_drop is not None:
            limits.append((check.max_drop, f"the allowed drop {check.max_drop:g}"))
        if check.max_relative_drop is not None:
            limit = check.max_relative_drop * abs(row.baseline)
            limits.append((limit, f"the allowed {check.max_relative_drop:.0%} of {_fmt(row.baseline)}"))
    elif check.compares_to_baseline and check.min_value is None and check.max_value is None:
        return RuleOutcome(**base, outcome="not_run", reason=f"{label}: no baseline value to compare with")

    for limit, limit_text in limits:
        allowed.append(f"{'drop' if metric.higher_is_better else 'rise'} <= {limit:.3g}")
        worsening = -sign * row.delta  # > 0 means worse
        has_ci = row.ci_low is not None and row.ci_high is not None
        ci_text = f" ({confidence:.0%} CI {_fmt(row.ci_low)} to {_fmt(row.ci_high)})" if has_ci else ""
        text = f"{worse_word} {abs(row.delta):.3f} from {_fmt(row.baseline)} to {_fmt(row.candidate)}{ci_text}, beyond {limit_text}"
        if worsening <= limit:
            continue
        if rule.significance == "none" or not has_ci:
            violations_hard.append(text)
            continue
        # The least-worse end of the CI: if even that is beyond the limit, the drop is real.
        least_worse = -row.ci_high if metric.higher_is_better else row.ci_low
        if least_worse > limit:
            violations_hard.append(text)
        else:
            violations_soft.append(text + "; the CI does not exclude an allowed change")

    if check.min_gain is not None and row.baseline is not None and row.delta is not None:
        gain_problem = _missing_gain(rule, row, sign, confidence)
        allowed.append(f"gain > {check.min_gain:g}" + (" (whole CI)" if rule.significance == "bootstrap" else ""))
        if gain_problem:
            violations_hard.append(gain_problem)

    allowed_text = ", ".join(allowed)
    if violations_hard:
        outcome = rule.severity
        return RuleOutcome(**base, outcome=outcome, allowed=allowed_text, reason=f"{label}: " + "; ".join(violations_hard))
    if violations_soft:
        return RuleOutcome(**base, outcome="warn", allowed=allowed_text, reason=f"{label}: " + "; ".join(violations_soft))
    delta_text = f", delta {row.delta:+.3f}" if row.delta is not None else ""
    return RuleOutcome(**base, outcome="pass", allowed=allowed_text, reason=f"{label}: {_fmt(row.candidate)}{delta_text} within limits")


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


def apply_policy(policy: Policy, comparisons: list[MetricComparison]) -> list[RuleOutcome]:
    """Every rule against every comparison in its scope; a rule that matches nothing is `not_run`."""
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
    return outcomes
