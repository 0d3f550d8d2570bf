"""Detection-level consistency of a backend against the reference (`torch`): do they detect the same signs?

Raw-tensor tolerances say little about what a user sees; this compares what ships. Per image, the
detections at or above the operating threshold of both backends are matched as sets: a pair must
have the same class and IoU >= `iou_threshold` (0.9 by default), and pairs are taken greedily by
descending IoU, each detection used once. Unmatched detections on either side are disagreements.

- disagreement rate = (unmatched reference + unmatched candidate) / (reference + candidate detections);
- score drift = |score_candidate - score_reference| over matched pairs (median, max);
- box drift = largest |coordinate difference| in source pixels of a matched pair (median, max).

Near the threshold a tiny score change moves a detection across it; that is counted, because it is
exactly a detection the deployed model would gain or lose. The AP difference with its bootstrap CI
comes from the evaluation engine (gate.eval) and is added by the gate runner next to this result.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gate.backends.detections import Detections
from gate.errors import InputError
from gate.results.backend import REFERENCE_BACKEND
from gate.results.consistency import BackendConsistency, ImageConsistency

DEFAULT_IOU = 0.9


def pairwise_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) IoU matrix of xyxy boxes."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)), dtype=np.float64)
    a = a.astype(np.float64)[:, None, :]
    b = b.astype(np.float64)[None, :, :]
    width = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    height = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = width * height
    area_a = np.clip(a[..., 2] - a[..., 0], 0, None) * np.clip(a[..., 3] - a[..., 1], 0, None)
    area_b = np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def match_detection_sets(reference: Detections, candidate: Detections,
                         iou_threshold: float) -> list[tuple[int, int]]:
    """Greedy one-to-one (reference index, candidate index) pairs: same class, IoU >= threshold, best IoU first."""
    iou = pairwise_iou(reference.boxes, candidate.boxes)
    if not iou.size:
        return []
    same_class = reference.labels[:, None] == candidate.labels[None, :]
    eligible = same_class & (iou >= iou_threshold)
    rows, cols = np.nonzero(eligible)
    # Ties in IoU resolve by index, so the matching is deterministic.
    order = np.lexsort((cols, rows, -iou[rows, cols]))
    used_ref: set[int] = set()
    used_cand: set[int] = set()
    pairs = []
    for k in order:
        r, c = int(rows[k]), int(cols[k])
        if r in used_ref or c in used_cand:
            continue
        used_ref.add(r)
        used_cand.add(c)
        pairs.append((r, c))
    return pairs


def compare_detections(
    reference: Sequence[Detections],
    candidate: Sequence[Detections],
    *,
    backend: str,
    score_threshold: float,
    reference_name: str = REFERENCE_BACKEND,
    iou_threshold: float = DEFAULT_IOU,
    worst_images: int = 10,
) -> BackendConsistency:
    """Compare two backends' detections of the same images at the operating threshold."""
    if not 0 < iou_threshold <= 1:
        raise InputError(f"consistency IoU threshold: expected a value in (0, 1], got {iou_threshold}")
    ref_by_id = {d.image_id: d for d in reference}
    cand_by_id = {d.image_id: d for d in candidate}
    if set(ref_by_id) != set(cand_by_id):
        missing = sorted(set(ref_by_id) ^ set(cand_by_id))
        raise InputError(f"{backend} and {reference_name} detections cover different images (first: {missing[:3]})")
    per_image: list[ImageConsistency] = []
    score_drift: list[float] = []
    box_drift: list[float] = []
    for image_id in sorted(ref_by_id):
        ref = ref_by_id[image_id].above(score_threshold)
        cand = cand_by_id[image_id].above(score_threshold)
        pairs = match_detection_sets(ref, cand, iou_threshold)
        for r, c in pairs:
            score_drift.append(abs(float(cand.scores[c]) - float(ref.scores[r])))
            box_drift.append(float(np.abs(cand.boxes[c].astype(np.float64) - ref.boxes[r].astype(np.float64)).max()))
        per_image.append(ImageConsistency(
            image_id=image_id, reference_detections=len(ref), candidate_detections=len(cand), matched=len(pairs),
            only_reference=len(ref) - len(pairs), only_candidate=len(cand) - len(pairs),
        ))
    ref_total = sum(i.reference_detections for i in per_image)
    cand_total = sum(i.candidate_detections for i in per_image)
    only_ref = sum(i.only_reference for i in per_image)
    only_cand = sum(i.only_candidate for i in per_image)
    total = ref_total + cand_total
    worst = sorted((i for i in per_image if i.disagreements), key=lambda i: (-i.disagreements, i.image_id))

    def stat(values: list[float], fn) -> float | None:
        return float(fn(np.asarray(values))) if values else None

    return BackendConsistency(
        backend=backend, reference=reference_name, iou_threshold=iou_threshold, score_threshold=score_threshold,
        images=len(per_image), images_with_disagreement=len(worst), reference_detections=ref_total,
        candidate_detections=cand_total, matched=sum(i.matched for i in per_image), only_reference=only_ref,
        only_candidate=only_cand, disagreement_rate=(only_ref + only_cand) / total if total else 0.0,
        score_drift_median=stat(score_drift, np.median), score_drift_max=stat(score_drift, np.max),
        box_drift_median_px=stat(box_drift, np.median), box_drift_max_px=stat(box_drift, np.max),
        worst_images=worst[:worst_images],
    )
