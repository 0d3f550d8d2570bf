"""From ground truth and predictions to an `EvaluationResult` (matching once, then every metric)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from gate.data.coco import CocoDataset
from gate.eval.accumulation import RECALL_THRESHOLDS, coco_summary
from gate.eval.confusion import confusion_from_counts
from gate.eval.groundtruth import GroundTruthArrays, ground_truth_arrays
from gate.eval.matching import COCO_MAX_DETS, match_predictions
from gate.eval.metrics import MetricArrays, MetricEngine
from gate.eval.predictions import PredictionArrays, load_predictions, predictions_from_results
from gate.eval.records import MatchRecords
from gate.eval.results import (
    ClassMetrics,
    ClassPrCurve,
    EvaluationResult,
    PrCurves,
    SizeMetrics,
    ThresholdMetrics,
)
from gate.eval.sizes import ALL_SIZES, COCO_BUCKETS, DEFAULT_SIZE_SCHEME, size_scheme
from gate.eval.tide import tide_breakdown
from gate.provenance import library_versions

DEFAULT_SCORE_THRESHOLD = 0.5


def _num(value: float) -> float | None:
    """NaN (undefined) -> None for JSON; everything else a plain float."""
    value = float(value)
    return None if math.isnan(value) else value


EVALUATION_LIBRARIES = ("tsrgate", "numpy", "pydantic")  # what the evaluator's numbers depend on

def _ap(value: float) -> float:
    """AP/AR keep pycocotools' -1 for "no counted ground truth"."""
    value = float(value)
    return -1.0 if math.isnan(value) else value


def coerce_predictions(predictions: Any, gt: GroundTruthArrays) -> PredictionArrays:
    """Accept arrays, a parsed COCO results list, or a path to a results JSON file."""
    if isinstance(predictions, PredictionArrays):
        return predictions
    if isinstance(predictions, str | Path):
        return load_predictions(predictions, gt)
    return predictions_from_results(predictions, gt)


def match(
    ground_truth: CocoDataset | GroundTruthArrays, predictions: Any, max_dets: int = COCO_MAX_DETS
) -> MatchRecords:
    """Match predictions (arrays, COCO results list or file) to the ground truth once."""
    gt = ground_truth if isinstance(ground_truth, GroundTruthArrays) else ground_truth_arrays(ground_truth)
    return match_predictions(gt, coerce_predictions(predictions, gt), max_dets=max_dets)


def evaluate(
    ground_truth: CocoDataset | GroundTruthArrays,
    predictions: Any,
    *,
    score_threshold: float = DEFAULT_SCORE_THRESHOLD,
    size_buckets: str = DEFAULT_SIZE_SCHEME,
    tide: bool = True,
) -> EvaluationResult:
    """Evaluate predictions (arrays, COCO results list or file) against ground truth."""
    return evaluate_with_records(
        ground_truth, predictions, score_threshold=score_threshold, size_buckets=size_buckets, tide=tide
    )[0]


def evaluate_with_records(
    ground_truth: CocoDataset | GroundTruthArrays,
    predictions: Any,
    *,
    score_threshold: float = DEFAULT_SCORE_THRESHOLD,
    size_buckets: str = DEFAULT_SIZE_SCHEME,
    tide: bool = True,
) -> tuple[EvaluationResult, MatchRecords]:
    """`evaluate`, also returning the match records (to save beside the result or to bootstrap)."""
    records = match(ground_truth, predictions)
    result = evaluate_records(records, score_threshold=score_threshold, size_buckets=size_buckets, tide=tide)
    return result, records


def evaluate_records(
    records: MatchRecords,
    *,
    score_threshold: float = DEFAULT_SCORE_THRESHOLD,
    size_buckets: str = DEFAULT_SIZE_SCHEME,
    tide: bool = True,
) -> EvaluationResult:
    """All metrics from match records: COCO stats, per class, per size, operating point, confusion,
    TIDE and PR curves."""
    buckets = size_scheme(size_buckets)
    coco_cols = tuple(records.area_index(b.lo, b.hi) for b in COCO_BUCKETS)
    engine = MetricEngine(records, score_threshold, buckets, extra_area_columns=coco_cols)
    m = engine.compute()
    slot = {c: i for i, c in enumerate(engine.plan_columns)}
    all_col = records.area_index(ALL_SIZES.lo, ALL_SIZES.hi)
    stats = coco_summary(
        m.accumulated, slot[all_col], slot[coco_cols[0]], slot[coco_cols[1]], slot[coco_cols[2]], records.iou_thresholds
    )
    n_k = records.num_categories
    detections = np.bincount(records.det_category, minlength=n_k)
    per_class = [
        ClassMetrics(
            category_id=int(records.category_ids[k]),
            name=records.category_names[k],
            support=int(m.support[k, 0]),
            detections=int(detections[k]),
            ap=_ap(m.ap[k, 0]), ap50=_ap(m.ap50[k, 0]), ap75=_ap(m.ap75[k, 0]),
            ar1=_ap(m.ar1[k, 0]), ar10=_ap(m.ar10[k, 0]), ar100=_ap(m.ar100[k, 0]),
            precision=_num(m.precision_at_threshold[k, 0]),
            recall=_num(m.recall_at_threshold[k, 0]),
            f1=_num(m.f1_at_threshold[k, 0]),
            tp=int(m.tp[k, 0]), fp=int(m.fp[k, 0]), fn=int(m.support[k, 0] - m.tp[k, 0]),
        )
        for k in range(n_k)
    ]
    per_size = [
        SizeMetrics(
            name=b.name, area_min=b.lo, area_max=b.hi,
            support=int(m.support[n_k, s]),
            ap=_ap(m.ap[n_k, s]), ap50=_ap(m.ap50[n_k, s]), ap75=_ap(m.ap75[n_k, s]), ar100=_ap(m.ar100[n_k, s]),
            precision=_num(m.precision_at_threshold[n_k, s]),
            recall=_num(m.recall_at_threshold[n_k, s]),
            f1=_num(m.f1_at_threshold[n_k, s]),
            tp=int(m.tp[n_k, s]), fp=int(m.fp[n_k, s]), fn=int(m.support[n_k, s] - m.tp[n_k, s]),
        )
        for s, b in enumerate(buckets, start=1)
    ]
    threshold = ThresholdMetrics(
        score_threshold=float(score_threshold),
        precision=_num(m.precision_at_threshold[n_k, 0]),
        recall=_num(m.recall_at_threshold[n_k, 0]),
        f1=_num(m.f1_at_threshold[n_k, 0]),
        tp=int(m.tp[n_k, 0]), fp=int(m.fp[n_k, 0]), fn=int(m.support[n_k, 0] - m.tp[n_k, 0]),
        fp_per_image=_num(m.fp_per_image),
    )
    summary = {
        "ap": _ap(m.ap[n_k, 0]), "ap50": _ap(m.ap50[n_k, 0]), "ap75": _ap(m.ap75[n_k, 0]),
        "ar1": _ap(m.ar1[n_k, 0]), "ar10": _ap(m.ar10[n_k, 0]), "ar100": _ap(m.ar100[n_k, 0]),
        "precision_at_threshold": threshold.precision,
        "recall_at_threshold": threshold.recall,
        "f1_at_threshold": threshold.f1,
        "fp_per_image": threshold.fp_per_image,
    }
    return EvaluationResult(
        gt_signature=records.gt_signature,
        num_images=records.num_images,
        num_predictions=records.num_detections,
        num_ground_truth=int((~records.gt_ignore).sum()),
        num_ignore_regions=int(records.gt_ignore.sum()),
        score_threshold=float(score_threshold),
        size_scheme=size_buckets,
        max_dets=records.max_dets,
        coco_stats=[float(v) for v in stats],
        summary=summary,
        per_class=per_class,
        per_size=per_size,
        threshold=threshold,
        confusion=confusion_from_counts(records, m.confusion, score_threshold),
        tide=tide_breakdown(records, score_threshold) if tide else None,
        pr_curves=_pr_curves(records, m, engine.t50),
        library_versions=library_versions(EVALUATION_LIBRARIES),
    )


def _pr_curves(records: MatchRecords, m: MetricArrays, t50: int) -> PrCurves:
    prec = m.accumulated.precision[:, 0]  # (K, T, R), plan slot 0 is area "all"
    valid = m.accumulated.npig[:, 0] > 0
    at50 = prec[:, t50, :]
    mean_t = prec.mean(axis=1)

    def as_list(row: np.ndarray) -> list[float]:
        return [float(v) for v in row]

    per_class = [
        ClassPrCurve(
            category_id=int(records.category_ids[k]),
            name=records.category_names[k],
            precision_iou50=as_list(at50[k]) if valid[k] else None,
            precision_iou50_95=as_list(mean_t[k]) if valid[k] else None,
        )
        for k in range(records.num_categories)
    ]
    return PrCurves(
        recall=as_list(RECALL_THRESHOLDS),
        overall_iou50=as_list(at50[valid].mean(axis=0)) if valid.any() else None,
        overall_iou50_95=as_list(mean_t[valid].mean(axis=0)) if valid.any() else None,
        per_class=per_class,
    )
