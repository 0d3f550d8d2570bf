"""Predictions: COCO results JSON to validated arrays; every kind of bad input is one clear error."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from gate.errors import InputError
from gate.eval import PredictionArrays, load_predictions, predictions_from_results
from tests.eval.cases import dataset

GT = dataset({
    "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100},
               {"id": 2, "file_name": "b.jpg", "width": 100, "height": 100}],
    "annotations": [{"id": 1, "image_id": 1, "category_id": 5, "bbox": [1, 1, 10, 10], "area": 100, "iscrowd": 0}],
    "categories": [{"id": 5, "name": "stop"}, {"id": 9, "name": "yield"}],
})


def _good(n=5):
    return [{"image_id": 1 + i % 2, "category_id": 5, "bbox": [1.0, 2.0, 3.0, 4.0], "score": 0.5} for i in range(n)]


def test_valid_results_become_arrays_in_input_order():
    preds = predictions_from_results(_good(3) + [{"image_id": 2, "category_id": 9, "bbox": [0, 0, 1, 1], "score": 1}], GT)
    assert len(preds) == 4
    assert preds.category_id.tolist() == [5, 5, 5, 9]
    assert preds.bbox.dtype == np.float64 and preds.bbox.shape == (4, 4)


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("score", math.nan, "NaN or infinite"),  # NaN score
        ("score", math.inf, "NaN or infinite"),  # infinite score
        ("bbox", [1.0, math.nan, 3.0, 4.0], "NaN or infinite"),  # NaN coordinate
        ("bbox", [1.0, 2.0, -3.0, 4.0], "negative box width or height"),  # negative width
        ("bbox", [1.0, 2.0, 3.0, -0.5], "negative box width or height"),  # negative height
        ("score", 1.5, r"score outside \[0, 1\]"),  # above 1
        ("score", -0.1, r"score outside \[0, 1\]"),  # below 0
        ("category_id", 77, "category_id not among the categories of the ground truth"),  # unknown class
        ("image_id", 42, "image_id not among the images of the ground truth"),  # unknown image
    ],
)
def test_bad_value_names_the_first_offending_record_and_the_count(field, value, problem):
    results = _good(6)
    results[2] = dict(results[2], **{field: value})
    results[4] = dict(results[4], **{field: value})
    with pytest.raises(InputError, match=problem) as err:
        predictions_from_results(results, GT, source="preds.json")
    text = str(err.value)
    assert text.startswith("preds.json: prediction #2 ")
    assert '"image_id"' in text  # the record's content is shown
    assert "2 of 6 predictions are invalid" in text


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"image_id": 1, "category_id": 5, "bbox": [1, 2, 3, 4]}, "missing key"),  # no score
        ({"image_id": 1, "category_id": 5, "bbox": [1, 2, 3], "score": 0.5}, "bbox must be 4 numbers"),  # short box
        ({"image_id": 1, "category_id": 5, "bbox": "1,2,3,4", "score": 0.5}, "bbox must be 4 numbers"),  # string box
        ({"image_id": "1", "category_id": 5, "bbox": [1, 2, 3, 4], "score": 0.5}, "image_id must be an integer"),
        ({"image_id": 1, "category_id": 5.5, "bbox": [1, 2, 3, 4], "score": 0.5}, "category_id must be an integer"),
        ({"image_id": 1, "category_id": 5, "bbox": [1, 2, 3, 4], "score": "high"}, "score must be a number"),
        ([1, 5, [1, 2, 3, 4], 0.5], "expected an object"),  # a list instead of an object
    ],
)
def test_malformed_record_is_named_with_its_index(record, problem):
    results = _good(3) + [record]
    with pytest.raises(InputError, match=problem) as err:
        predictions_from_results(results, GT)
    assert "prediction #3" in str(err.value) and "1 of 4 predictions are malformed" in str(err.value)


def test_not_a_list_is_an_input_error():
    with pytest.raises(InputError, match="expected a JSON list"):
        predictions_from_results({"annotations": []}, GT)


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="predictions file not found"):
        load_predictions(tmp_path / "none.json", GT)


def test_invalid_json_is_an_input_error(tmp_path):
    path = tmp_path / "p.json"
    path.write_text("[{", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        load_predictions(path, GT)


def test_nan_written_by_json_dumps_is_caught_from_a_file(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(_good(2) + [dict(_good(1)[0], score=float("nan"))]), encoding="utf-8")
    with pytest.raises(InputError, match="prediction #2 .*NaN") as err:
        load_predictions(path, GT)
    assert str(path) in str(err.value)


def test_arrays_from_a_model_are_validated_against_the_ground_truth():
    with pytest.raises(InputError, match="prediction #1 .*category_id not among"):
        PredictionArrays.from_arrays([1, 1], [5, 6], [[0, 0, 1, 1], [0, 0, 1, 1]], [0.5, 0.5], ground_truth=GT)


def test_arrays_of_different_lengths_are_refused():
    with pytest.raises(InputError, match="differ in length"):
        PredictionArrays.from_arrays([1, 1], [5], [[0, 0, 1, 1], [0, 0, 1, 1]], [0.5, 0.5])


def test_round_trip_to_coco_results():
    results = _good(3)
    assert predictions_from_results(results, GT).to_coco_results() == [
        dict(r, bbox=[float(v) for v in r["bbox"]], score=float(r["score"])) for r in results
    ]
