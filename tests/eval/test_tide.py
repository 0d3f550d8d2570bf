"""TIDE error types (Bolya et al. 2020): one hand-built case per type, and the AP50 each fix gains."""

from __future__ import annotations

import numpy as np
import pytest

from gate.eval import evaluate_records, match, tide_breakdown
from gate.eval.tide import ap_per_class
from tests.eval.cases import dataset, random_case


def _case(anns, dets, images=1):
    gt = dataset({
        "images": [{"id": i, "file_name": f"{i}.jpg", "width": 640, "height": 480} for i in range(1, images + 1)],
        "annotations": [dict({"id": i, "image_id": 1, "iscrowd": 0}, area=a["bbox"][2] * a["bbox"][3], **a)
                        for i, a in enumerate(anns, start=1)],
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
    })
    return match(gt, [dict({"image_id": 1}, **d) for d in dets])


SIGN = {"category_id": 1, "bbox": [100, 100, 50, 50]}
HIT = {"category_id": 1, "bbox": [100, 100, 50, 50], "score": 0.9}


@pytest.mark.parametrize(
    ("detection", "error"),
    [
        ({"category_id": 2, "bbox": [100, 100, 50, 50], "score": 0.5}, "cls"),  # right place, wrong class
        ({"category_id": 1, "bbox": [125, 100, 50, 50], "score": 0.5}, "loc"),  # right class, IoU 0.33
        ({"category_id": 2, "bbox": [125, 100, 50, 50], "score": 0.5}, "both"),  # wrong class, IoU 0.33
        ({"category_id": 1, "bbox": [101, 100, 50, 50], "score": 0.5}, "dupe"),  # second hit on a found sign
        ({"category_id": 1, "bbox": [400, 300, 50, 50], "score": 0.5}, "bkg"),  # nowhere near a sign
    ],
)
def test_each_false_positive_gets_its_error_type(detection, error):
    dets = [detection] if error != "dupe" else [HIT, detection]
    tide = tide_breakdown(_case([SIGN], dets), 0.5)
    expected = {name: 0 for name in tide.counts}
    expected[error] = 1
    expected["missed"] = 0 if error in ("cls", "loc", "dupe") else 1
    assert tide.counts == expected


def test_missed_sign_without_any_nearby_detection():
    tide = tide_breakdown(_case([SIGN, {"category_id": 2, "bbox": [300, 300, 40, 40]}], [HIT]), 0.5)
    assert tide.counts["missed"] == 1 and tide.delta_ap50["missed"] == pytest.approx(0.5)


def test_fixing_a_classification_error_recovers_the_lost_ap():
    records = _case([SIGN], [{"category_id": 2, "bbox": [100, 100, 50, 50], "score": 0.5}])
    tide = tide_breakdown(records, 0.5)
    assert tide.ap50 == 0.0  # class a has its sign missed, class b has no ground truth (left out)
    assert tide.delta_ap50["cls"] == pytest.approx(1.0)
    assert tide.delta_ap50["bkg"] == 0.0


def test_removing_background_errors_raises_precision():
    records = _case([SIGN], [{"category_id": 1, "bbox": [400, 300, 50, 50], "score": 0.95}, HIT])
    tide = tide_breakdown(records, 0.5)
    assert tide.ap50 == pytest.approx(0.5)  # precision 1/2 at the only recall level
    assert tide.delta_ap50["bkg"] == pytest.approx(0.5)
    assert tide.delta_ap50_false_positives == pytest.approx(0.5)


def test_threshold_counts_only_see_confident_detections():
    records = _case([SIGN], [HIT, {"category_id": 1, "bbox": [400, 300, 50, 50], "score": 0.2}])
    tide = tide_breakdown(records, 0.5)
    assert tide.counts["bkg"] == 1 and tide.counts_at_threshold["bkg"] == 0


def test_base_ap50_equals_the_evaluation_ap50_on_random_cases():
    rng = np.random.default_rng(4)
    for _ in range(25):
        gt_dict, dets = random_case(rng)
        records = match(dataset(gt_dict), dets)
        result = evaluate_records(records)
        assert result.tide.ap50 == pytest.approx(result.summary["ap50"], abs=1e-12)
        assert all(v >= -1e-12 for v in result.tide.delta_ap50.values())  # fixing never costs AP


def test_ap_per_class_without_ground_truth_is_nan():
    ap = ap_per_class(np.array([0]), np.array([0.5]), np.array([0]), np.array([0]), np.array([False]), np.array([0, 2]))
    assert np.isnan(ap[0]) and ap[1] == 0.0
