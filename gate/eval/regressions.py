"""Concrete examples of a candidate's regressions against a baseline, for failure galleries.

Three kinds, all at each model's operating score threshold and IoU 0.5, from the match records:
- "missed": a counted ground truth the baseline found (same-class match) and the candidate did not;
- "new_confusion": a ground truth the candidate matches class-agnostically with another class,
  while the baseline's class-agnostic match had the right class (or none);
- "new_false_positive": a candidate false positive with no baseline false positive of the same
  class overlapping it (IoU >= 0.5) in the same image.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from gate.errors import RefusedError
from gate.eval.matching import box_iou
from gate.eval.records import MatchRecords


class RegressionExample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["missed", "new_confusion", "new_false_positive"]
    image_id: int
    gt_annotation_id: int | None = None
    gt_class: str | None = None
    gt_bbox: list[float] | None = None
    predicted_class: str | None = None
    predicted_bbox: list[float] | None = None
    score: float | None = None  # the candidate's detection score (or the baseline's, for "missed")


def regression_examples(
    candidate: MatchRecords,
    baseline: MatchRecords,
    candidate_threshold: float = 0.5,
    baseline_threshold: float | None = None,
    limit: int = 50,
) -> list[RegressionExample]:
    """Up to `limit` examples of each kind, the most confident first."""
    if candidate.gt_signature != baseline.gt_signature:
        raise RefusedError("candidate and baseline were evaluated on different ground truth (gt signatures differ)")
    baseline_threshold = candidate_threshold if baseline_threshold is None else baseline_threshold
    names = candidate.category_names
    out: list[RegressionExample] = []

    def gt_fields(g: int) -> dict:
        return {"image_id": int(candidate.image_ids[candidate.gt_image[g]]),
                "gt_annotation_id": int(candidate.gt_annotation_id[g]),
                "gt_class": names[candidate.gt_category[g]], "gt_bbox": [float(v) for v in candidate.gt_bbox[g]]}

    # missed: found by the baseline, not by the candidate
    base_found = baseline.gt_detected(baseline_threshold)
    cand_found = candidate.gt_detected(candidate_threshold)
    t50 = baseline.iou_index(0.5)
    base_hit = (baseline.det_gt50 >= 0) & (baseline.det_score >= baseline_threshold) & baseline.tp_flags(0, t50)
    base_score = np.zeros(baseline.gt_image.shape[0])
    np.maximum.at(base_score, baseline.det_gt50[base_hit], baseline.det_score[base_hit])
    missed = np.flatnonzero(base_found & ~cand_found & ~candidate.gt_ignore)
    for g in missed[np.argsort(-base_score[missed], kind="stable")][:limit]:
        out.append(RegressionExample(kind="missed", score=float(base_score[g]), **gt_fields(int(g))))

    # new confusions: the candidate reads the sign as another class, the baseline did not
    def agnostic_class(records: MatchRecords, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        cls = np.full(records.gt_image.shape[0], -1)
        det = np.full(records.gt_image.shape[0], -1)
        hit = np.flatnonzero((records.det_agnostic_gt >= 0) & (records.det_score >= threshold))
        cls[records.det_agnostic_gt[hit]] = records.det_category[hit]
        det[records.det_agnostic_gt[hit]] = hit
        return cls, det

    cand_cls, cand_det = agnostic_class(candidate, candidate_threshold)
    base_cls, _ = agnostic_class(baseline, baseline_threshold)
    wrong = (cand_cls >= 0) & (cand_cls != candidate.gt_category)
    confused = np.flatnonzero(wrong & ((base_cls < 0) | (base_cls == candidate.gt_category)) & ~candidate.gt_ignore)
    confused = confused[np.argsort(-candidate.det_score[cand_det[confused]], kind="stable")][:limit]
    for g in confused:
        d = cand_det[g]
        out.append(RegressionExample(kind="new_confusion", predicted_class=names[candidate.det_category[d]],
                                     predicted_bbox=[float(v) for v in candidate.det_bbox[d]],
                                     score=float(candidate.det_score[d]), **gt_fields(int(g))))

    # new false positives: no baseline false positive of the same class on the same spot
    cand_fp = np.flatnonzero(candidate.false_positive_flags(candidate_threshold))
    base_fp = np.flatnonzero(baseline.false_positive_flags(baseline_threshold))
    base_by_key: dict[tuple[int, int], list[int]] = {}
    for d in base_fp:
        base_by_key.setdefault((int(baseline.det_image[d]), int(baseline.det_category[d])), []).append(d)
    new_fp = []
    for d in cand_fp:
        others = base_by_key.get((int(candidate.det_image[d]), int(candidate.det_category[d])))
        if others is not None:
            iou = box_iou(candidate.det_bbox[d][None, :], baseline.det_bbox[np.array(others)], np.zeros(len(others), bool))
            if (iou >= 0.5).any():
                continue
        new_fp.append(d)
    new_fp = np.array(new_fp, dtype=np.int64)
    for d in new_fp[np.argsort(-candidate.det_score[new_fp], kind="stable")][:limit]:
        out.append(RegressionExample(kind="new_false_positive", image_id=int(candidate.image_ids[candidate.det_image[d]]),
                                     predicted_class=names[candidate.det_category[d]],
                                     predicted_bbox=[float(v) for v in candidate.det_bbox[d]],
                                     score=float(candidate.det_score[d])))
    return out
