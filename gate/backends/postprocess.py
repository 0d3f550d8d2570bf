"""The one postprocessing implementation: raw RT-DETR outputs -> `Detections` in source pixels.

Decoding follows transformers' `RTDetrImageProcessor.post_process_object_detection` with focal-loss
scores: sigmoid over every (query, class) pair, top-k over the flattened pairs with k = number of
queries, boxes converted from normalised cxcywh to xyxy and scaled to the source image, kept when
strictly above the card's `score_threshold`. On top of that, for tiled inputs the per-tile
detections are merged with per-class NMS, boxes are clipped to the image (card's `clip_boxes`), and the card's
`top_k` caps the detections per image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gate.backends.detections import Detections
from gate.backends.preprocess import InputGeometry, PreparedBatch
from gate.cards.card import PostprocessingSpec


@dataclass(frozen=True)
class RawOutputs:
    """What every backend's forward pass returns: logits (T, Q, C) and pred_boxes (T, Q, 4) cxcywh in [0, 1]."""

    logits: np.ndarray
    pred_boxes: np.ndarray

    def __post_init__(self) -> None:
        logits = np.asarray(self.logits, dtype=np.float32)
        boxes = np.asarray(self.pred_boxes, dtype=np.float32)
        if logits.ndim != 3:
            raise ValueError(f"logits: expected shape (T, Q, C), got {logits.shape}")
        if boxes.shape != (*logits.shape[:2], 4):
            raise ValueError(f"pred_boxes: expected shape {(*logits.shape[:2], 4)}, got {boxes.shape}")
        if not (np.isfinite(logits).all() and np.isfinite(boxes).all()):
            raise ValueError("model outputs: expected finite values, got NaN or inf")
        object.__setattr__(self, "logits", logits)
        object.__setattr__(self, "pred_boxes", boxes)

    @classmethod
    def concatenate(cls, parts: Sequence[RawOutputs]) -> RawOutputs:
        return cls(np.concatenate([p.logits for p in parts]), np.concatenate([p.pred_boxes for p in parts]))


def sigmoid(values: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-values.astype(np.float32)))).astype(np.float32)


def cxcywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    cx, cy, w, h = boxes[..., 0], boxes[..., 1], boxes[..., 2], boxes[..., 3]
    return np.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], axis=-1).astype(np.float32)


def decode_input(
    logits: np.ndarray, pred_boxes: np.ndarray, geometry: InputGeometry, score_threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One model input's (boxes in source pixels, scores, labels), best first, score > threshold."""
    num_queries, num_classes = logits.shape
    scores = sigmoid(logits).reshape(-1)
    # Stable sort on the negated scores: ties resolve to the lowest (query, class) index.
    order = np.argsort(-scores, kind="stable")[:num_queries]
    top_scores = scores[order]
    labels = (order % num_classes).astype(np.int64)
    queries = order // num_classes
    boxes = geometry.to_source(cxcywh_to_xyxy(pred_boxes[queries]))
    keep = top_scores > score_threshold
    return boxes[keep], top_scores[keep], labels[keep]


def box_iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = max(float(box[2] - box[0]), 0.0) * max(float(box[3] - box[1]), 0.0)
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def nms_per_class(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept by greedy per-class NMS (suppress IoU > threshold), best score first."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    for label in np.unique(labels):
        candidates = order[labels[order] == label]
        while candidates.size:
            best = candidates[0]
            keep.append(int(best))
            rest = candidates[1:]
            if not rest.size:
                break
            candidates = rest[box_iou_one_to_many(boxes[best], boxes[rest]) <= iou_threshold]
    kept = np.asarray(keep, dtype=np.int64)
    return kept[np.argsort(-scores[kept], kind="stable")] if kept.size else kept


def postprocess(raw: RawOutputs, batch: PreparedBatch, spec: PostprocessingSpec) -> list[Detections]:
    """Decode every input of a prepared batch and assemble one `Detections` per source image."""
    if raw.logits.shape[0] != len(batch.geometry):
        raise ValueError(f"model outputs: expected {len(batch.geometry)} rows, got {raw.logits.shape[0]}")
    results = []
    for index, image_id in enumerate(batch.image_ids):
        rows = batch.rows_of(index)
        parts = [decode_input(raw.logits[r], raw.pred_boxes[r], batch.geometry[r], spec.score_threshold) for r in rows]
        boxes = np.concatenate([p[0] for p in parts]).reshape(-1, 4)
        scores = np.concatenate([p[1] for p in parts])
        labels = np.concatenate([p[2] for p in parts])
        if len(rows) > 1 and scores.size:
            kept = nms_per_class(boxes, scores, labels, spec.tile_nms_iou)
            boxes, scores, labels = boxes[kept], scores[kept], labels[kept]
        elif scores.size:
            order = np.argsort(-scores, kind="stable")
            boxes, scores, labels = boxes[order], scores[order], labels[order]
        if spec.clip_boxes and scores.size:
            height, width = batch.source_sizes[index]
            boxes = np.stack(
                [
                    np.clip(boxes[:, 0], 0, width),
                    np.clip(boxes[:, 1], 0, height),
                    np.clip(boxes[:, 2], 0, width),
                    np.clip(boxes[:, 3], 0, height),
                ],
                axis=1,
            ).astype(np.float32)
        results.append(Detections(image_id, boxes[: spec.top_k], scores[: spec.top_k], labels[: spec.top_k]))
    return results
