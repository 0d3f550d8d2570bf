"""The one Detections type: shape validation and COCO results."""

from __future__ import annotations

import numpy as np
import pytest

from gate.backends.detections import Detections, detections_to_coco_results


def _two() -> Detections:
    return Detections(3, [[10, 20, 30, 60], [0, 0, 5, 5]], [0.9, 0.2], [1, 0])


def test_arrays_are_normalised_to_their_dtypes():
    det = _two()
    assert det.boxes.dtype == np.float32 and det.scores.dtype == np.float32 and det.labels.dtype == np.int64
    assert len(det) == 2


@pytest.mark.parametrize(
    ("boxes", "scores", "labels", "message"),
    [
        ([[0, 0, 1]], [0.5], [0], r"boxes: expected shape \(N, 4\), got \(1, 3\)"),
        ([[0, 0, 1, 1]], [0.5, 0.4], [0], r"scores: expected shape \(1,\), got \(2,\)"),
        ([[0, 0, 1, 1]], [0.5], [0, 1], r"labels: expected shape \(1,\), got \(2,\)"),
        ([[0, 0, np.nan, 1]], [0.5], [0], "expected finite values"),
        ([[0, 0, 1, 1]], [0.5], [-1], "expected class indices >= 0"),
        ([[0, 0, 1, 1]], [0.5], [0.5], "labels: expected dtype int64, got float64"),
    ],
)
def test_bad_shapes_say_expected_and_got(boxes, scores, labels, message):
    with pytest.raises(ValueError, match=message):
        Detections(1, boxes, scores, labels)


def test_empty_detections():
    det = Detections.empty(5)
    assert len(det) == 0 and det.boxes.shape == (0, 4)
    assert det.to_coco_results([1]) == []


def test_coco_results_use_xywh_and_category_mapping():
    results = _two().to_coco_results({0: 11, 1: 12})
    assert results[0] == {"image_id": 3, "category_id": 12, "bbox": [10.0, 20.0, 20.0, 40.0],
                          "score": pytest.approx(0.9)}
    assert results[1]["category_id"] == 11


def test_missing_category_mapping_is_an_error():
    with pytest.raises(ValueError, match="label 1: expected a category id"):
        _two().to_coco_results({0: 11})


def test_above_keeps_the_operating_point():
    assert _two().above(0.5).labels.tolist() == [1]
    assert len(detections_to_coco_results([_two(), Detections.empty(4)], [7, 8])) == 2
