"""Robustness under corruption: mPC and rPC (Michaelis et al., "Benchmarking Robustness in Object
Detection: Autonomous Driving when Winter is Coming", 2019).

mPC = mean over corruption types c of the mean over severities s of the metric P(c, s);
rPC = mPC / P(clean). The paper uses AP; any higher-is-better metric works the same way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import numpy as np

from gate.errors import InputError, RefusedError
from gate.eval.accumulation import within_image_ties
from gate.eval.bootstrap import iter_resample_weights
from gate.eval.metrics import MetricEngine
from gate.eval.records import MatchRecords
from gate.eval.results import EvaluationResult, MetricDelta, RobustnessResult

_ROBUSTNESS_METRICS = ("ap", "ap50", "ap75", "ar100")


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


def paired_bootstrap_robustness(
    candidate: Mapping[str, MatchRecords],
    baseline: Mapping[str, MatchRecords],
    clean: str,
    corruptions: Mapping[str, tuple[str, int]],
    *,
    metric: str = "ap",
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[MetricDelta]:
    """mPC and rPC deltas (candidate - baseline) with paired-bootstrap CIs.

    `candidate` / `baseline` map suite names to match records; `clean` names the clean suite and
    `corruptions` maps each corruption suite to its (corruption, severity). The corruption suites
    are corrupted copies of the clean images, so one resample of image indices is shared by every
    suite and both models (all suites must list the same images). Same percentile CI and p_worse
    definition as `paired_bootstrap`.
    """
    if metric not in _ROBUSTNESS_METRICS:
        raise InputError(f"mPC is computed for {', '.join(_ROBUSTNESS_METRICS)}, not {metric!r}")
    if not corruptions:
        raise InputError("mPC needs at least one corruption suite")
    suites = [clean, *corruptions]
    for name in suites:
        if name not in candidate or name not in baseline:
            raise InputError(f"suite {name!r} is missing from the candidate or the baseline records")
        if candidate[name].gt_signature != baseline[name].gt_signature:
            raise RefusedError(f"candidate and baseline were evaluated on different ground truth for suite {name!r}")
        if not np.array_equal(candidate[name].image_ids, candidate[clean].image_ids):
            raise RefusedError(f"suite {name!r} does not list the same images as the clean suite {clean!r}")
    if resamples < 1 or not 0.0 < confidence < 1.0:
        raise InputError("resamples must be >= 1 and confidence between 0 and 1")

    def engines(records: Mapping[str, MatchRecords]) -> list[MetricEngine]:
        copies = 1
        if any(within_image_ties(records[s]) for s in suites):
            copies = max(int(w.max()) for w in iter_resample_weights(records[clean].num_images, resamples, seed))
        return [MetricEngine(records[s], 0.5, (), tie_copies=copies) for s in suites]

    groups: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(corruptions, start=1):
        groups[corruptions[name][0]].append(i)

    def mpc_rpc(engine_list: list[MetricEngine], weights: np.ndarray | None) -> tuple[float, float]:
        values = []
        for engine in engine_list:
            m = engine.compute(weights, all_max_dets=False)
            values.append(float(getattr(m, metric)[-1, 0]))
        if any(np.isnan(v) for v in values):
            return float("nan"), float("nan")
        mpc = float(np.mean([np.mean([values[i] for i in idx]) for idx in groups.values()]))
        return mpc, (mpc / values[0] if values[0] > 0 else float("nan"))

    cand_engines, base_engines = engines(candidate), engines(baseline)
    cand_point, base_point = mpc_rpc(cand_engines, None), mpc_rpc(base_engines, None)
    n = candidate[clean].num_images
    deltas = np.array([
        np.subtract(mpc_rpc(cand_engines, w), mpc_rpc(base_engines, w))
        for w in iter_resample_weights(n, resamples, seed)
    ])
    support = int((~candidate[clean].gt_ignore).sum())
    out = []
    for column, name in enumerate(("mpc", "rpc")):
        d = deltas[:, column]
        d = d[~np.isnan(d)]
        cv, bv = cand_point[column], base_point[column]
        defined = not (np.isnan(cv) or np.isnan(bv)) and d.size > 0
        alpha = (1.0 - confidence) / 2.0
        out.append(MetricDelta(
            metric=name, higher_is_better=True,
            value_candidate=None if np.isnan(cv) else cv,
            value_baseline=None if np.isnan(bv) else bv,
            delta=cv - bv if defined else None,
            ci_low=float(np.quantile(d, alpha)) if d.size else None,
            ci_high=float(np.quantile(d, 1.0 - alpha)) if d.size else None,
            p_worse=float((1 + np.count_nonzero(d >= 0)) / (1 + d.size)) if d.size else None,
            support=support, status="ok" if defined else "undefined", valid_resamples=int(d.size),
        ))
    return out
