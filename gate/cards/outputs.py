"""What a detector's graph outputs are: the card's `architecture.outputs` section, one layout per decoding kind.

A family (rt_detr, detr, yolo, boxes_scores_labels) says how a model is built and fed; the layout says
which named outputs it returns and what they hold, so one decoder per layout turns them into
`Detections` (gate.backends.decoders). Every layout lists its outputs with the shape pattern it
expects, so ingest can check a real graph against the declaration before anything is written.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Family = Literal["rt_detr", "detr", "yolo", "boxes_scores_labels"]
BoxUnits = Literal["pixels", "normalized"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DetrOutputs(_Strict):
    """Class logits (B, Q, C) or (B, Q, C+1) and normalised cxcywh boxes (B, Q, 4) (transformers' DETR family).

    `sigmoid`: focal-loss heads (RT-DETR, D-FINE, Deformable DETR): top-k over all (query, class) pairs.
    `softmax`: heads with a trailing no-object class (DETR, Conditional DETR, YOLOS): best real class per query.
    """

    layout: Literal["detr"] = "detr"
    logits: str = "logits"
    boxes: str = "pred_boxes"
    score_activation: Literal["sigmoid", "softmax"] = "sigmoid"

    def names(self) -> list[str]:
        return [self.logits, self.boxes]

    def expected_shapes(self, num_classes: int) -> dict[str, list[int | str]]:
        classes = num_classes + (1 if self.score_activation == "softmax" else 0)
        return {self.logits: ["B", "N", classes], self.boxes: ["B", "N", 4]}


class YoloRawOutputs(_Strict):
    """Ultralytics YOLOv8/YOLO11 raw head (B, 4 + C, N): cx, cy, w, h in input pixels, then per-class scores.

    multi_label false: the best class of each anchor is its candidate (Ultralytics predict);
    true: every (anchor, class) pair above the score threshold is one (Ultralytics `val`).
    """

    layout: Literal["yolo_raw"] = "yolo_raw"
    predictions: str = "output0"
    multi_label: bool = False

    def names(self) -> list[str]:
        return [self.predictions]

    def expected_shapes(self, num_classes: int) -> dict[str, list[int | str]]:
        return {self.predictions: ["B", 4 + num_classes, "N"]}


class YoloEndToEndOutputs(_Strict):
    """End-to-end exports (YOLOv10, YOLO26, `nms=True`): (B, N, 6) of x1, y1, x2, y2 (input pixels), score, class."""

    layout: Literal["yolo_end_to_end"] = "yolo_end_to_end"
    predictions: str = "output0"

    def names(self) -> list[str]:
        return [self.predictions]

    def expected_shapes(self, num_classes: int) -> dict[str, list[int | str]]:
        return {self.predictions: ["B", "N", 6]}


class BoxesScoresLabelsOutputs(_Strict):
    """Three named outputs: xyxy boxes (B, N, 4), scores (B, N), class indices (B, N)."""

    layout: Literal["boxes_scores_labels"] = "boxes_scores_labels"
    boxes: str = "boxes"
    scores: str = "scores"
    labels: str = "labels"
    box_units: BoxUnits = "pixels"  # pixels of the model input, or [0, 1] of it

    def names(self) -> list[str]:
        return [self.boxes, self.scores, self.labels]

    def expected_shapes(self, num_classes: int) -> dict[str, list[int | str]]:
        return {self.boxes: ["B", "N", 4], self.scores: ["B", "N"], self.labels: ["B", "N"]}


class EfficientNmsOutputs(_Strict):
    """TensorRT EfficientNMS_TRT's outputs: num_dets (B, 1), boxes (B, K, 4) xyxy, scores (B, K), classes (B, K)."""

    layout: Literal["efficient_nms"] = "efficient_nms"
    num_dets: str = "num_dets"
    boxes: str = "det_boxes"
    scores: str = "det_scores"
    labels: str = "det_classes"
    box_units: BoxUnits = "pixels"

    def names(self) -> list[str]:
        return [self.num_dets, self.boxes, self.scores, self.labels]

    def expected_shapes(self, num_classes: int) -> dict[str, list[int | str]]:
        return {self.num_dets: ["B", 1], self.boxes: ["B", "N", 4], self.scores: ["B", "N"], self.labels: ["B", "N"]}


OutputsSpec = Annotated[
    DetrOutputs | YoloRawOutputs | YoloEndToEndOutputs | BoxesScoresLabelsOutputs | EfficientNmsOutputs,
    Field(discriminator="layout"),
]

# Which layouts each family may declare (the first is its default when `outputs` is omitted, if any).
FAMILY_LAYOUTS: dict[str, tuple[str, ...]] = {
    "rt_detr": ("detr",),
    "detr": ("detr",),
    "yolo": ("yolo_raw", "yolo_end_to_end"),
    "boxes_scores_labels": ("boxes_scores_labels", "efficient_nms"),
}


def match_shapes(expected: dict[str, list[int | str]], actual: dict[str, list[int | str | None]]) -> str | None:
    """None when every declared output's shape fits its pattern (symbols bind consistently); else the problem.

    `actual` holds graph or probe shapes; an unknown (None or symbolic) graph dimension fits any pattern entry.
    """
    bound: dict[str, int] = {}
    for name, pattern in expected.items():
        if name not in actual:
            return f"declared output {name!r} is not an output of the model (outputs: {sorted(actual)})"
        shape = actual[name]
        wanted = "(" + ", ".join(str(d) for d in pattern) + ")"
        got = "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"
        if len(shape) != len(pattern):
            return f"output {name!r}: expected rank {len(pattern)} shape {wanted}, got {got}"
        for want, dim in zip(pattern, shape, strict=True):
            if not isinstance(dim, int):
                continue
            if isinstance(want, int):
                if dim != want:
                    return f"output {name!r}: expected shape {wanted}, got {got}"
            elif bound.setdefault(want, dim) != dim:
                return f"output {name!r}: expected shape {wanted} with {want}={bound[want]} as in the other outputs, got {got}"
    return None
