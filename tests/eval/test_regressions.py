"""Regression examples for failure galleries: missed signs, new confusions, new false positives."""

from __future__ import annotations

import pytest

from gate.errors import RefusedError
from gate.eval import match, regression_examples
from tests.eval.cases import dataset

GT = dataset({
    "images": [{"id": 7, "file_name": "a.jpg", "width": 640, "height": 480}],
    "annotations": [
        {"id": 1, "image_id": 7, "category_id": 1, "bbox": [10, 10, 40, 40], "area": 1600, "iscrowd": 0},
        {"id": 2, "image_id": 7, "category_id": 1, "bbox": [100, 10, 40, 40], "area": 1600, "iscrowd": 0},
    ],
    "categories": [{"id": 1, "name": "speed_limit_30"}, {"id": 2, "name": "speed_limit_80"}],
})
BASE = [{"image_id": 7, "category_id": 1, "bbox": [10, 10, 40, 40], "score": 0.9},
        {"image_id": 7, "category_id": 1, "bbox": [100, 10, 40, 40], "score": 0.8},
        {"image_id": 7, "category_id": 2, "bbox": [300, 300, 40, 40], "score": 0.7}]  # an old false positive


def test_each_kind_of_regression_is_reported_with_its_boxes():
    cand = [{"image_id": 7, "category_id": 2, "bbox": [100, 10, 40, 40], "score": 0.85},  # 30 read as 80
            {"image_id": 7, "category_id": 2, "bbox": [301, 300, 40, 40], "score": 0.7},  # same old false positive
            {"image_id": 7, "category_id": 1, "bbox": [400, 400, 30, 30], "score": 0.6}]  # a new false positive
    examples = regression_examples(match(GT, cand), match(GT, BASE))
    kinds = {}
    for e in examples:
        kinds.setdefault(e.kind, []).append(e)
    assert {e.gt_annotation_id for e in kinds["missed"]} == {1, 2}
    assert kinds["missed"][0].score == pytest.approx(0.9)  # most confident baseline find first
    (confusion,) = kinds["new_confusion"]
    assert (confusion.gt_class, confusion.predicted_class, confusion.gt_annotation_id) == ("speed_limit_30", "speed_limit_80", 2)
    assert confusion.predicted_bbox == [100.0, 10.0, 40.0, 40.0] and confusion.image_id == 7
    fps = kinds["new_false_positive"]
    assert [e.predicted_bbox for e in fps if e.predicted_class == "speed_limit_30"] == [[400.0, 400.0, 30.0, 30.0]]
    assert not [e for e in fps if e.predicted_bbox == [301.0, 300.0, 40.0, 40.0]]


def test_identical_models_have_no_regressions():
    records = match(GT, BASE)
    assert regression_examples(records, match(GT, BASE)) == []


def test_other_ground_truth_is_refused():
    other = dataset({"images": [{"id": 1, "file_name": "b.jpg", "width": 10, "height": 10}], "annotations": [],
                     "categories": [{"id": 1, "name": "x"}]})
    with pytest.raises(RefusedError):
        regression_examples(match(other, []), match(GT, BASE))
