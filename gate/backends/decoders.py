"""Decoders: the card's outputs layout -> `Detections`, one small function per layout, all through one assembly.

Every layout turns one model input's outputs into (boxes in source pixels, scores, labels) with the
input's geometry (stretch, letterbox or one tile), so tiling, clipping and the per-image top-k are
shared (`gate.backends.postprocess.postprocess`) and work for every family:

- `detr`: class logits + normalised cxcywh boxes; sigmoid heads decode like RT-DETR (top-k over all
  (query, class) pairs), softmax heads like DETR (best real class per query, the no-object class dropped);
- `yolo_raw`: (4 + C, N) cx, cy, w, h in input pixels + class scores, then class-wise NMS at the card's `nms_iou`;
- `yolo_end_to_end`: (N, 6) x1, y1, x2, y2, score, class with NMS already in the graph;
- `boxes_scores_labels` / `efficient_nms`: named xyxy boxes, scores and labels (EfficientNMS: first num_dets rows).

Runtimes that return outputs other than (logits, pred_boxes) hand them over as `NamedOutputs`.
`check_outputs` finds values no detector can mean (NaN, boxes with negative size, unknown classes) so
the backend can name its file in a one-line error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gate.backends.detections import Detections
from gate.backends.postprocess import RawOutputs, cxcywh_to_xyxy, nms_per_class, postprocess
from gate.backends.preprocess import InputGeometry, PreparedBatch
from gate.cards.card import PostprocessingSpec
from gate.cards.outputs import (
    BoxesScoresLabelsOutputs,
    DetrOutputs,
    EfficientNmsOutputs,
    YoloEndToEndOutputs,
    YoloRawOutputs,
)


@dataclass(frozen=True)
class NamedOutputs:
    """A forward pass's outputs by graph output name, each batch-first (one row per model input)."""

    arrays: dict[str, np.ndarray]

    @property
    def rows(self) -> int:
        return int(next(iter(self.arrays.values())).shape[0])

    @classmethod
    def concatenate(cls, parts: Sequence[NamedOutputs]) -> NamedOutputs:
        return cls({name: np.concatenate([p.arrays[name] for p in parts]) for name in parts[0].arrays})


def softmax(values: np.ndarray) -> np.ndarray:
    shifted = values.astype(np.float32) - values.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return (exp / exp.sum(axis=-1, keepdims=True)).astype(np.float32)


def _to_source(boxes_xyxy: np.ndarray, geometry: InputGeometry, units: str, input_size: tuple[int, int]) -> np.ndarray:
    """xyxy boxes in input pixels (or normalised) -> source pixels through the input's geometry."""
    boxes = boxes_xyxy.astype(np.float32)
    if units == "pixels":
        height, width = input_size
        boxes = boxes / np.asarray([width, height, width, height], dtype=np.float32)
    return geometry.to_source(boxes)


def _threshold_sorted(boxes, scores, labels, threshold: float):
    keep = scores > threshold
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    order = np.argsort(-scores, kind="stable")
    return boxes[order], scores[order], labels[order]


def decode_detr_softmax(logits: np.ndarray, pred_boxes: np.ndarray, geometry: InputGeometry, threshold: float):
    """transformers' DETR `post_process_object_detection`: softmax, drop no-object, best class per query."""
    probabilities = softmax(logits)[:, :-1]
    scores = probabilities.max(axis=-1)
    labels = probabilities.argmax(axis=-1).astype(np.int64)
    boxes = geometry.to_source(cxcywh_to_xyxy(pred_boxes))
    return _threshold_sorted(boxes, scores, labels, threshold)


def decode_yolo_raw(predictions: np.ndarray, geometry: InputGeometry, spec: PostprocessingSpec,
                    layout: YoloRawOutputs, input_size: tuple[int, int]):
    """(4 + C, N) raw head of one input -> candidates above threshold -> class-wise NMS."""
    table = predictions.T.astype(np.float32)  # (N, 4 + C)
    class_scores = table[:, 4:]
    if layout.multi_label:
        anchors, labels = np.nonzero(class_scores > spec.score_threshold)
        scores = class_scores[anchors, labels]
    else:
        labels = class_scores.argmax(axis=1)
        scores = class_scores[np.arange(len(table)), labels]
        anchors = np.nonzero(scores > spec.score_threshold)[0]
        labels, scores = labels[anchors], scores[anchors]
    boxes = _to_source(cxcywh_to_xyxy(table[anchors, :4]), geometry, "pixels", input_size)
    labels = labels.astype(np.int64)
    if scores.size:
        kept = nms_per_class(boxes, scores, labels, spec.nms_iou)[: spec.top_k]
        boxes, scores, labels = boxes[kept], scores[kept], labels[kept]
    return boxes.reshape(-1, 4), scores.astype(np.float32), labels


def decode_boxes_scores_labels(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, geometry: InputGeometry,
                               threshold: float, units: str, input_size: tuple[int, int]):
    source = _to_source(boxes.reshape(-1, 4), geometry, units, input_size)
    return _threshold_sorted(source, scores.astype(np.float32).reshape(-1),
                             np.rint(labels.reshape(-1)).astype(np.int64), threshold)


def decode_outputs(raw: RawOutputs | NamedOutputs, batch: PreparedBatch, spec: PostprocessingSpec,
                   layout) -> list[Detections]:
    """One `Detections` per source image of a prepared batch, decoded by the card's outputs layout."""
    if isinstance(layout, DetrOutputs):
        if not isinstance(raw, RawOutputs):
            raw = RawOutputs(raw.arrays[layout.logits], raw.arrays[layout.boxes])
        if layout.score_activation == "sigmoid":
            return postprocess(raw, batch, spec)
        return postprocess(raw, batch, spec, lambda r: decode_detr_softmax(
            raw.logits[r], raw.pred_boxes[r], batch.geometry[r], spec.score_threshold))
    if not isinstance(raw, NamedOutputs):
        raise ValueError(f"outputs layout {layout.layout}: expected named outputs, got {type(raw).__name__}")
    arrays = raw.arrays
    input_size = tuple(batch.pixel_values.shape[2:4])
    if isinstance(layout, YoloRawOutputs):
        def decode_row(r: int):
            return decode_yolo_raw(arrays[layout.predictions][r], batch.geometry[r], spec, layout, input_size)
    elif isinstance(layout, YoloEndToEndOutputs):
        def decode_row(r: int):
            rows = arrays[layout.predictions][r]
            return decode_boxes_scores_labels(rows[:, :4], rows[:, 4], rows[:, 5], batch.geometry[r],
                                              spec.score_threshold, "pixels", input_size)
    elif isinstance(layout, EfficientNmsOutputs):
        def decode_row(r: int):
            count = int(arrays[layout.num_dets][r].reshape(-1)[0])
            return decode_boxes_scores_labels(arrays[layout.boxes][r][:count], arrays[layout.scores][r][:count],
                                              arrays[layout.labels][r][:count], batch.geometry[r],
                                              spec.score_threshold, layout.box_units, input_size)
    elif isinstance(layout, BoxesScoresLabelsOutputs):
        def decode_row(r: int):
            return decode_boxes_scores_labels(arrays[layout.boxes][r], arrays[layout.scores][r],
                                              arrays[layout.labels][r], batch.geometry[r],
                                              spec.score_threshold, layout.box_units, input_size)
    else:  # pragma: no cover - the card's schema admits no other layout
        raise ValueError(f"unknown outputs layout {layout!r}")
    return postprocess(raw, batch, spec, decode_row)


def check_outputs(arrays: dict[str, np.ndarray], layout, num_classes: int) -> str | None:
    """None when a forward pass's outputs are values a detector can mean; else the problem, naming the output."""
    for name, values in arrays.items():
        if not np.isfinite(values).all():
            return f"the model emitted NaN or inf in its {name} output"
    if isinstance(layout, DetrOutputs):
        boxes = {layout.boxes: arrays[layout.boxes][..., 2:4]} if layout.boxes in arrays else {}
        labels = None
    elif isinstance(layout, YoloRawOutputs):
        predictions = arrays[layout.predictions]
        boxes = {layout.predictions: np.moveaxis(predictions[:, 2:4, :], 1, 2)}
        labels = None
    elif isinstance(layout, YoloEndToEndOutputs):
        rows = arrays[layout.predictions]
        valid = rows[..., 4] > 0  # padding rows of a fixed-size output are zeros
        boxes = {layout.predictions: (rows[..., 2:4] - rows[..., 0:2])[valid]}
        labels = (layout.predictions, rows[..., 5][valid])
    else:
        xyxy = arrays[layout.boxes]
        valid = np.ones(xyxy.shape[:-1], dtype=bool)
        if isinstance(layout, EfficientNmsOutputs):
            counts = arrays[layout.num_dets].reshape(-1)
            valid = np.arange(xyxy.shape[1])[None, :] < counts[:, None]
        boxes = {layout.boxes: (xyxy[..., 2:4] - xyxy[..., 0:2])[valid]}
        labels = (layout.labels, arrays[layout.labels][valid])
    for name, sizes in boxes.items():
        if sizes.size and sizes.min() < 0:
            smallest = float(sizes.min())
            return f"the model emitted a box of negative width or height ({smallest:.3g}) in its {name} output"
    if labels is not None and labels[1].size:
        values = np.rint(labels[1])
        if values.min() < 0 or values.max() >= num_classes:
            bad = values[(values < 0) | (values >= num_classes)][0]
            return (f"the model emitted class {int(bad)} in its {labels[0]} output, outside the card's "
                    f"{num_classes} classes")
    return None
