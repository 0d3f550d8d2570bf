"""Operating-point metrics, size buckets, PR curves and GTSDB sanity checks."""

from __future__ import annotations

import numpy as np
import pytest

from gate.data.coco import load_coco
from gate.eval import evaluate, evaluate_records, match
from tests.eval.cases import dataset, pycocotools_eval


def _gt():
    return dataset({
        "images": [{"id": i, "file_name": f"{i}.jpg", "width": 640, "height": 480} for i in (1, 2, 3, 4)],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 12, 12], "area": 144, "iscrowd": 0},  # tiny
            {"id": 2, "image_id": 1, "category_id": 2, "bbox": [100, 100, 50, 50], "area": 2500, "iscrowd": 0},  # medium
            {"id": 3, "image_id": 2, "category_id": 1, "bbox": [10, 10, 20, 20], "area": 400, "iscrowd": 0},  # small
            {"id": 4, "image_id": 3, "category_id": 1, "bbox": [0, 0, 300, 300], "area": 90000, "iscrowd": 0},  # large
        ],
        "categories": [{"id": 1, "name": "stop"}, {"id": 2, "name": "yield"}],
    })


DETS = [
    {"image_id": 1, "category_id": 1, "bbox": [10, 10, 12, 12], "score": 0.9},  # TP tiny
    {"image_id": 1, "category_id": 2, "bbox": [100, 100, 50, 50], "score": 0.4},  # TP below threshold
    {"image_id": 2, "category_id": 1, "bbox": [200, 200, 20, 20], "score": 0.8},  # FP small
    {"image_id": 4, "category_id": 2, "bbox": [50, 50, 40, 40], "score": 0.7},  # FP medium
    {"image_id": 3, "category_id": 1, "bbox": [0, 0, 300, 300], "score": 0.6},  # TP large
]


def test_operating_point_counts_precision_recall_f1_and_fp_per_image():
    result = evaluate(_gt(), DETS, score_threshold=0.5)
    t = result.threshold
    assert (t.tp, t.fp, t.fn) == (2, 2, 2)
    assert t.precision == pytest.approx(0.5) and t.recall == pytest.approx(0.5) and t.f1 == pytest.approx(0.5)
    assert t.fp_per_image == pytest.approx(2 / 4)
    stop = result.class_metrics("stop")
    assert (stop.tp, stop.fp, stop.fn, stop.support) == (2, 1, 1, 3)
    assert stop.recall == pytest.approx(2 / 3)
    yield_ = result.class_metrics("yield")
    assert yield_.recall == 0.0 and yield_.precision == 0.0 and yield_.f1 == 0.0


def test_lower_threshold_admits_more_detections():
    result = evaluate(_gt(), DETS, score_threshold=0.3)
    assert result.threshold.tp == 3 and result.class_metrics("yield").recall == 1.0


def test_size_buckets_count_ground_truth_by_area_and_false_positives_by_box():
    result = evaluate(_gt(), DETS, score_threshold=0.5, size_buckets="traffic_sign")
    sizes = {s.name: s for s in result.per_size}
    assert [s.name for s in result.per_size] == ["tiny", "small", "medium", "large"]
    assert (sizes["tiny"].support, sizes["small"].support, sizes["medium"].support, sizes["large"].support) == (1, 1, 1, 1)
    assert (sizes["tiny"].tp, sizes["tiny"].fp) == (1, 0)
    assert (sizes["small"].tp, sizes["small"].fp) == (0, 1)
    assert (sizes["medium"].tp, sizes["medium"].fp) == (0, 1)  # the yield TP scores below the threshold
    assert sizes["large"].recall == 1.0


def test_coco_size_scheme_on_request_and_coco_stats_always_coco():
    ts = evaluate(_gt(), DETS, size_buckets="traffic_sign")
    coco = evaluate(_gt(), DETS, size_buckets="coco")
    assert [s.name for s in coco.per_size] == ["small", "medium", "large"]
    assert ts.coco_stats == coco.coco_stats
    assert coco.per_size[0].ap == pytest.approx(coco.coco_stats[3], abs=1e-12)
    np.testing.assert_allclose(ts.coco_stats, pycocotools_eval(
        {"images": [i.model_dump() for i in _gt().images],
         "annotations": [a.model_dump(exclude={"attributes", "ignore"}) for a in _gt().annotations],
         "categories": [c.model_dump() for c in _gt().categories]}, DETS).stats, atol=1e-12)


def test_precision_without_detections_is_undefined_not_zero():
    gt = _gt()
    result = evaluate(gt, [], score_threshold=0.5)
    assert result.threshold.precision is None and result.threshold.recall == 0.0
    assert result.summary["precision_at_threshold"] is None


def test_pr_curves_have_101_points_and_match_ap50():
    result = evaluate(_gt(), DETS)
    curves = result.pr_curves
    assert len(curves.recall) == 101 and curves.recall[0] == 0.0 and curves.recall[-1] == 1.0
    stop = next(c for c in curves.per_class if c.name == "stop")
    assert np.mean(stop.precision_iou50) == pytest.approx(result.class_metrics("stop").ap50, abs=1e-12)
    assert np.mean(curves.overall_iou50) == pytest.approx(result.summary["ap50"], abs=1e-12)


def test_perfect_predictions_on_gtsdb_score_one(gtsdb_path):
    gt = load_coco(gtsdb_path / "annotations.json")
    dets = [{"image_id": a.image_id, "category_id": a.category_id, "bbox": a.bbox, "score": 1.0} for a in gt.annotations]
    result = evaluate(gt, dets)
    assert result.summary["ap"] == pytest.approx(1.0) and result.threshold.fp == 0
    assert result.num_ground_truth == len(gt.annotations)


def test_jittered_gtsdb_predictions_equal_pycocotools(gtsdb_path):
    gt = load_coco(gtsdb_path / "annotations.json")
    rng = np.random.default_rng(0)
    dets = []
    for a in gt.annotations:
        x, y, w, h = a.bbox
        j = rng.normal(0, 0.1 * w, 4)
        dets.append({"image_id": a.image_id, "category_id": a.category_id if rng.random() < 0.9 else 1,
                     "bbox": [x + j[0], y + j[1], max(1.0, w + j[2]), max(1.0, h + j[3])], "score": float(rng.random())})
    records = match(gt, dets)
    ours = evaluate_records(records, tide=False).coco_stats
    ref = pycocotools_eval(gt.to_json_dict(), dets).stats
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9)
