"""Robustness under corruption: mPC and rPC (Michaelis et al., "Benchmarking Robustness in Object
Detection: Autonomous Driving when Winter is Coming", 2019).

mPC = mean over corruption types c of the mean over severities s of the metric P(c, s);
rPC = mPC / P(clean). The paper uses AP; any higher-is-better metric works the same way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from gate.errors import InputError
from gate.eval.results import EvaluationResult, RobustnessResult


def _metric_value(result: EvaluationResult | float, metric: str) -> float:
    if isinstance(result, EvaluationResult):
        value = result.summary.get(metric)
        if value is None:
            raise InputError(f"evaluation has no value for metric {metric!r}")
        return float(value)
    return float(result)


def robustness(
    clean: EvaluationResult | float,
    corrupted: Mapping[tuple[str, int], EvaluationResult | float],
    metric: str = "ap",
) -> RobustnessResult:
    """mPC and rPC from the clean result and results keyed by (corruption name, severity)."""
    if not corrupted:
        raise InputError("mPC needs at least one corruption suite")
    clean_value = _metric_value(clean, metric)
    by_corruption: dict[str, list[float]] = defaultdict(list)
    per_suite: dict[str, float] = {}
    for (corruption, severity), result in sorted(corrupted.items()):
        value = _metric_value(result, metric)
        if value < 0:
            raise InputError(f"{metric} is undefined on {corruption}@{severity} (no ground truth)")
        by_corruption[corruption].append(value)
        per_suite[f"{corruption}@{severity}"] = value
    per_corruption = {c: sum(v) / len(v) for c, v in by_corruption.items()}
    mpc = sum(per_corruption.values()) / len(per_corruption)
    return RobustnessResult(
        metric=metric,
        clean=clean_value,
        mpc=mpc,
        rpc=mpc / clean_value if clean_value > 0 else None,
        per_corruption=per_corruption,
        per_suite=per_suite,
    )
