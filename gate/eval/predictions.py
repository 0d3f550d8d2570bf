"""Detections as validated numpy arrays, from COCO results JSON or from a model's outputs.

COCO results format: a JSON list of `{"image_id", "category_id", "bbox": [x, y, w, h], "score"}`.
Nothing is evaluated on bad data: a malformed or out-of-range record is an `InputError` that names
the first offending record (its index and content) and how many records are bad.
"""

from __future__ import annotations

import json
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gate.data.coco import CocoDataset
from gate.errors import InputError
from gate.eval.groundtruth import GroundTruthArrays, ground_truth_arrays
from gate.inputs import read_structured

_REQUIRED_KEYS = ("image_id", "category_id", "bbox", "score")


@dataclass(frozen=True)
class PredictionArrays:
    """One row per detection, in the order given (that order breaks score ties, as in pycocotools)."""

    image_id: np.ndarray  # (N,) int64
    category_id: np.ndarray  # (N,) int64
    bbox: np.ndarray  # (N, 4) float64 xywh in pixels
    score: np.ndarray  # (N,) float64 in [0, 1]

    def __len__(self) -> int:
        return int(self.score.shape[0])

    @classmethod
    def empty(cls) -> PredictionArrays:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0))

    @classmethod
    def from_arrays(cls, image_id, category_id, bbox, score, ground_truth=None, source=None) -> PredictionArrays:
        """Wrap arrays (e.g. a model's outputs); validated against `ground_truth` when it is given."""
        preds = cls(
            image_id=np.asarray(image_id, dtype=np.int64).reshape(-1),
            category_id=np.asarray(category_id, dtype=np.int64).reshape(-1),
            bbox=np.asarray(bbox, dtype=np.float64).reshape(-1, 4),
            score=np.asarray(score, dtype=np.float64).reshape(-1),
        )
        n = len(preds)
        if not (preds.image_id.shape[0] == preds.category_id.shape[0] == preds.bbox.shape[0] == n):
            raise InputError(
                f"prediction arrays differ in length: image_id {preds.image_id.shape[0]}, category_id "
                f"{preds.category_id.shape[0]}, bbox {preds.bbox.shape[0]}, score {n}",
                path=source,
            )
        if ground_truth is not None:
            validate_predictions(preds, ground_truth, source=source)
        return preds

    def record(self, index: int) -> dict[str, Any]:
        """Detection `index` as a COCO results record."""
        return {
            "image_id": int(self.image_id[index]),
            "category_id": int(self.category_id[index]),
            "bbox": [float(v) for v in self.bbox[index]],
            "score": float(self.score[index]),
        }

    def to_coco_results(self) -> list[dict[str, Any]]:
        return [self.record(i) for i in range(len(self))]


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _structure_problem(record: Any) -> str | None:
    if not isinstance(record, dict):
        return f"expected an object, got {type(record).__name__}"
    missing = [k for k in _REQUIRED_KEYS if k not in record]
    if missing:
        return f"missing key(s) {', '.join(missing)}"
    if not _is_integer(record["image_id"]):
        return f"image_id must be an integer, got {record['image_id']!r}"
    if not _is_integer(record["category_id"]):
        return f"category_id must be an integer, got {record['category_id']!r}"
    bbox = record["bbox"]
    if not isinstance(bbox, list | tuple) or len(bbox) != 4 or not all(_is_number(v) for v in bbox):
        return f"bbox must be 4 numbers [x, y, w, h], got {bbox!r}"
    if not _is_number(record["score"]):
        return f"score must be a number, got {record['score']!r}"
    return None


def _show(record: Any, limit: int = 200) -> str:
    try:
        text = json.dumps(record, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(record)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def predictions_from_results(
    results: Any, ground_truth: CocoDataset | GroundTruthArrays, source: str | Path | None = None
) -> PredictionArrays:
    """Validate a parsed COCO results list against the ground truth and convert it to arrays."""
    if not isinstance(results, list):
        raise InputError(f"expected a JSON list of detections, got {type(results).__name__}", path=source)
    first_bad, bad_count, first_problem = -1, 0, ""
    for index, record in enumerate(results):
        problem = _structure_problem(record)
        if problem is not None:
            if first_bad < 0:
                first_bad, first_problem = index, problem
            bad_count += 1
    if bad_count:
        raise InputError(
            f"prediction #{first_bad} {_show(results[first_bad])}: {first_problem}; "
            f"{bad_count} of {len(results)} predictions are malformed",
            path=source,
        )
    n = len(results)
    preds = PredictionArrays(
        image_id=np.fromiter((r["image_id"] for r in results), dtype=np.int64, count=n),
        category_id=np.fromiter((r["category_id"] for r in results), dtype=np.int64, count=n),
        bbox=np.array([r["bbox"] for r in results], dtype=np.float64).reshape(n, 4),
        score=np.fromiter((r["score"] for r in results), dtype=np.float64, count=n),
    )
    validate_predictions(preds, ground_truth, source=source, raw=results)
    return preds


def load_predictions(path: str | Path, ground_truth: CocoDataset | GroundTruthArrays) -> PredictionArrays:
    """Read a COCO results JSON file; every problem is one InputError naming the file."""
    path = Path(path)
    results = read_structured(path, "predictions file", fmt="json")
    return predictions_from_results(results, ground_truth, source=path)


def validate_predictions(
    preds: PredictionArrays,
    ground_truth: CocoDataset | GroundTruthArrays,
    source: str | Path | None = None,
    raw: list | None = None,
) -> None:
    """Refuse non-finite numbers, negative sizes, scores outside [0, 1], unknown images or classes."""
    gt = ground_truth if isinstance(ground_truth, GroundTruthArrays) else ground_truth_arrays(ground_truth)
    finite = np.isfinite(preds.bbox).all(axis=1) & np.isfinite(preds.score)
    with np.errstate(invalid="ignore"):
        negative = (preds.bbox[:, 2] < 0) | (preds.bbox[:, 3] < 0)
        bad_score = ~((preds.score >= 0) & (preds.score <= 1))
    unknown_cat = ~np.isin(preds.category_id, gt.category_ids)
    unknown_img = ~np.isin(preds.image_id, gt.image_ids)
    truth = f"the ground truth ({gt.source})" if gt.source else "the ground truth"
    checks = [
        (~finite, "NaN or infinite value"),
        (negative & finite, "negative box width or height"),
        (bad_score & finite, "score outside [0, 1]"),
        (unknown_cat, f"category_id not among the categories of {truth}"),
        (unknown_img, f"image_id not among the images of {truth}"),
    ]
    bad = np.zeros(len(preds), dtype=bool)
    for mask, _ in checks:
        bad |= mask
    if not bad.any():
        return
    first = int(np.argmax(bad))
    problems = [text for mask, text in checks if mask[first]]
    shown = raw[first] if raw is not None else preds.record(first)
    raise InputError(
        f"prediction #{first} {_show(shown)}: {'; '.join(problems)}; "
        f"{int(bad.sum())} of {len(preds)} predictions are invalid",
        path=source,
    )

