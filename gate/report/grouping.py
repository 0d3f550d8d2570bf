"""Rule outcomes grouped for reading: one line per rule x suite with its count and worst delta.

Also the short note each outcome row shows instead of its full reason: only what the table's other
columns (value, baseline, delta, CI, allowed, p-values) do not already say.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gate.policy import GATE_METRICS, RuleOutcome


def worsening(outcome: RuleOutcome) -> float | None:
    """The delta in the metric's worse direction (> 0 is worse), or None without a delta."""
    if outcome.delta is None:
        return None
    metric = GATE_METRICS.get(outcome.metric)
    return -outcome.delta if metric is None or metric.higher_is_better else outcome.delta


@dataclass
class OutcomeGroup:
    rule_id: str
    metric: str
    suite: str
    rows: list[RuleOutcome] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def worst(self) -> RuleOutcome:
        return max(self.rows, key=lambda o: worsening(o) if worsening(o) is not None else float("-inf"))

    @property
    def worst_label(self) -> str:
        worst = self.worst
        return " / ".join(p for p in (worst.class_name, worst.size) if p) or "overall"

    @property
    def largest_mdc(self) -> float | None:
        values = [o.mdc for o in self.rows if o.mdc is not None]
        return max(values) if values else None


def group_outcomes(outcomes: list[RuleOutcome]) -> list[OutcomeGroup]:
    """Groups by rule and suite, the group with the largest worsening first."""
    groups: dict[tuple[str, str], OutcomeGroup] = {}
    for o in outcomes:
        key = (o.rule_id, o.suite or "all suites")
        groups.setdefault(key, OutcomeGroup(rule_id=o.rule_id, metric=o.metric, suite=key[1])).rows.append(o)
    return sorted(groups.values(), key=lambda g: -(worsening(g.worst) or 0.0))


def _p(value: float) -> str:
    return f"{value:.1e}" if value < 1e-3 else f"{value:.3f}"


def p_text(outcome: RuleOutcome) -> str:
    """`raw / adjusted` (or the raw p alone outside the family), empty for rules without a test."""
    if outcome.p_value is None:
        return ""
    if outcome.in_family and outcome.p_adjusted is not None:
        return f"{_p(outcome.p_value)} / {_p(outcome.p_adjusted)}"
    return _p(outcome.p_value)


def brief_note(outcome: RuleOutcome) -> str:
    """What the other columns do not show: why not judged, an untested point-estimate breach, or coverage."""
    if outcome.outcome in ("not_run", "insufficient_support"):
        return outcome.reason.split(": ", 1)[-1]
    if outcome.outcome == "cannot_detect" and outcome.mdc is not None:
        needed = f"; needs {outcome.support_needed} gt (has {outcome.support})" if outcome.support_needed else ""
        return f"MDC {outcome.mdc:.3f}{needed}"
    if outcome.p_value is None and outcome.outcome in ("fail", "warn"):
        return "point estimate (no test)"
    if outcome.outcome == "warn" and outcome.severity == "fail":
        return "not significant"
    return ""
