"""Detections together with the full class-score vector of the query each one came from.

`Detections` carry one score per box; the uncertainty signals need every class's score (entropy,
top-2 margin). Rather than change the shared postprocessing, this runs the backend's own
prepare -> forward -> shared `postprocess` (exactly what `Backend.infer` does, so the detections
are identical) and then finds, for each detection, the query that produced it: the decoder keeps
(query, class) pairs, so the detection's score equals that query's sigmoid score for the
detection's class. Among the queries that match (a tiled image has several inputs) the one whose
decoded box overlaps the detection's box most is taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gate.backends.base import Backend
from gate.backends.consistency import pairwise_iou
from gate.backends.detections import Detections
from gate.backends.postprocess import cxcywh_to_xyxy, postprocess, sigmoid

_SCORE_TOLERANCE = 1e-6  # float32 sigmoid of the same logit; allows for a different SIMD path


@dataclass(frozen=True)
class ScoredDetections:
    """One image's detections and, row for row, the sigmoid class scores (N, C) of their queries."""

    detections: Detections
    class_scores: np.ndarray


def _query_scores(detections: Detections, probabilities: list[np.ndarray], boxes: list[np.ndarray]) -> np.ndarray:
    num_classes = probabilities[0].shape[1] if probabilities else 0
    out = np.zeros((len(detections), num_classes), dtype=np.float32)
    for k in range(len(detections)):
        label, score = int(detections.labels[k]), float(detections.scores[k])
        best_iou, best_vector = -1.0, None
        for probs, decoded in zip(probabilities, boxes, strict=True):
            hits = np.flatnonzero(np.abs(probs[:, label] - score) <= _SCORE_TOLERANCE)
            if not hits.size:
                continue
            overlap = pairwise_iou(detections.boxes[k : k + 1], decoded[hits])[0]
            j = int(np.argmax(overlap))
            if overlap[j] > best_iou:
                best_iou, best_vector = float(overlap[j]), probs[hits[j]]
        if best_vector is None:  # cannot happen for decoder output; keep the known score alone
            out[k, label] = score
        else:
            out[k] = best_vector
    return out


def infer_with_class_scores(backend: Backend, images: Sequence[np.ndarray],
                            image_ids: Sequence[int]) -> list[ScoredDetections]:
    """`backend.infer(images, image_ids)` plus each detection's class-score vector."""
    layout = backend.card.architecture.decoding
    if getattr(layout, "score_activation", None) != "sigmoid":
        from gate.errors import InputError

        raise InputError(f"mining reads per-class sigmoid scores of DETR-style heads; this model's outputs layout "
                         f"{layout.layout} ({backend.card.architecture.family}) is not supported yet",
                         path=backend.model_dir)
    batch = backend.prepare(images, image_ids)
    raw = backend.run_prepared(batch)
    detections = postprocess(raw, batch, backend.postprocessing)
    results = []
    for index, found in enumerate(detections):
        rows = batch.rows_of(index)
        probabilities = [sigmoid(raw.logits[r]) for r in rows]
        decoded = [batch.geometry[r].to_source(cxcywh_to_xyxy(raw.pred_boxes[r])) for r in rows]
        results.append(ScoredDetections(found, _query_scores(found, probabilities, decoded)))
    return results
