"""`Detections`: the one result type every backend returns, whatever runtime produced it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _as_array(value: Any, dtype: np.dtype, name: str) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype != dtype:
        if array.size and not np.can_cast(array.dtype, dtype, casting="same_kind"):
            raise ValueError(f"{name}: expected dtype {np.dtype(dtype).name}, got {array.dtype.name}")
        array = array.astype(dtype)
    return array


@dataclass(frozen=True, eq=False)
class Detections:
    """The detections of one image.

    boxes: (N, 4) float32, xyxy in source-image pixels; scores: (N,) float32 in [0, 1];
    labels: (N,) int64, index into the model card's `class_names` (not a COCO category id).
    Sorted by descending score when produced by `gate.backends.postprocess`.
    """

    image_id: int
    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        boxes = _as_array(self.boxes, np.float32, "boxes")
        scores = _as_array(self.scores, np.float32, "scores")
        labels = _as_array(self.labels, np.int64, "labels")
        if boxes.size == 0:
            boxes = boxes.reshape(0, 4)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise ValueError(f"boxes: expected shape (N, 4), got {boxes.shape}")
        count = boxes.shape[0]
        if scores.shape != (count,):
            raise ValueError(f"scores: expected shape ({count},), got {scores.shape}")
        if labels.shape != (count,):
            raise ValueError(f"labels: expected shape ({count},), got {labels.shape}")
        if count and not (np.isfinite(boxes).all() and np.isfinite(scores).all()):
            raise ValueError("boxes and scores: expected finite values, got NaN or inf")
        if count and labels.min() < 0:
            raise ValueError(f"labels: expected class indices >= 0, got {int(labels.min())}")
        # frozen dataclass: the validated arrays replace the raw inputs once, here.
        object.__setattr__(self, "image_id", int(self.image_id))
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "labels", labels)

    @classmethod
    def empty(cls, image_id: int) -> Detections:
        return cls(image_id, np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    def above(self, threshold: float) -> Detections:
        """Only the detections with score >= threshold (the operating point)."""
        keep = self.scores >= threshold
        return Detections(self.image_id, self.boxes[keep], self.scores[keep], self.labels[keep], dict(self.extra))

    def to_coco_results(self, category_ids: Mapping[int, int] | Sequence[int],
                        skip_unmapped: bool = False) -> list[dict[str, Any]]:
        """COCO results dicts (`bbox` as xywh) with each label index mapped to a dataset category id.

        With `skip_unmapped`, labels the mapping leaves out (classes an evaluation taxonomy ignores) are dropped.
        """
        results = []
        for box, score, label in zip(self.boxes.tolist(), self.scores.tolist(), self.labels.tolist(), strict=True):
            try:
                category_id = category_ids[label]
            except (KeyError, IndexError):
                if skip_unmapped:
                    continue
                raise ValueError(f"label {label}: expected a category id for it, got none in the mapping") from None
            x1, y1, x2, y2 = box
            results.append(
                {
                    "image_id": self.image_id,
                    "category_id": int(category_id),
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "score": score,
                }
            )
        return results

    def equals(self, other: Detections) -> bool:
        """Exact equality of image id and every array (bit for bit)."""
        return (
            self.image_id == other.image_id
            and np.array_equal(self.boxes, other.boxes)
            and np.array_equal(self.scores, other.scores)
            and np.array_equal(self.labels, other.labels)
        )


def detections_to_coco_results(
    detections: Sequence[Detections], category_ids: Mapping[int, int] | Sequence[int], skip_unmapped: bool = False,
) -> list[dict[str, Any]]:
    """All images' detections as one COCO results list (the file `pycocotools.loadRes` reads)."""
    results: list[dict[str, Any]] = []
    for item in detections:
        results.extend(item.to_coco_results(category_ids, skip_unmapped))
    return results
