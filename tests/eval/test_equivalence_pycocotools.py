"""tsrgate's AP/AR against pycocotools' COCOeval on hundreds of random cases (the reference)."""

from __future__ import annotations

import numpy as np
import pytest

from gate.eval import evaluate_records, match
from gate.eval.accumulation import accumulate, build_plan, coco_summary, within_image_ties
from gate.eval.metrics import MetricEngine
from gate.eval.sizes import COCO_BUCKETS, TRAFFIC_SIGN_BUCKETS
from tests.eval.cases import dataset, pycocotools_eval, random_case, resampled_case

N_CASES = 320
TOL = 1e-9


def _our_stats(records):
    return np.array(evaluate_records(records, tide=False).coco_stats)


def test_coco_stats_equal_pycocotools_on_random_cases():
    rng = np.random.default_rng(20240601)
    checked = 0
    kinds = {"crowd": 0, "many_dets": 0, "ties": 0, "no_gt_class": 0, "empty_image": 0}
    while checked < N_CASES:
        gt_dict, dets = random_case(rng)
        if not dets:
            continue  # pycocotools cannot load an empty results list (covered by its own test)
        records = match(dataset(gt_dict), dets)
        ours = _our_stats(records)
        ref = pycocotools_eval(gt_dict, dets).stats
        np.testing.assert_allclose(ours, ref, rtol=0, atol=TOL, err_msg=f"case {checked}")
        checked += 1
        kinds["crowd"] += bool(records.gt_ignore.any())
        kinds["many_dets"] += bool((records.det_rank >= 100).any())
        kinds["ties"] += within_image_ties(records)
        kinds["no_gt_class"] += len({a["category_id"] for a in gt_dict["annotations"]}) < len(gt_dict["categories"])
        kinds["empty_image"] += len({a["image_id"] for a in gt_dict["annotations"]}) < len(gt_dict["images"])
    # the generator really produced the edge cases this test is meant to cover
    assert all(count >= 10 for count in kinds.values()), kinds


def test_full_precision_and_recall_arrays_equal_pycocotools():
    rng = np.random.default_rng(7)
    for _ in range(40):
        gt_dict, dets = random_case(rng)
        if not dets:
            continue
        records = match(dataset(gt_dict), dets)
        acc = accumulate(build_plan(records), np.ones(records.num_images, np.int64))
        ev = pycocotools_eval(gt_dict, dets)
        ref_p, ref_r = ev.eval["precision"], ev.eval["recall"]  # (T,R,K,A,M), (T,K,A,M)
        for a_ref, bucket in enumerate([None, *COCO_BUCKETS]):
            a = 0 if bucket is None else records.area_index(bucket.lo, bucket.hi)
            assert np.array_equal(acc.precision[:, a].transpose(1, 2, 0), ref_p[:, :, :, a_ref, 2])
            assert np.array_equal(acc.recall[:, a].transpose(1, 0, 2), ref_r[:, :, a_ref, :])


def test_traffic_sign_buckets_equal_pycocotools_with_those_area_ranges():
    rng = np.random.default_rng(11)
    ranges = [(0.0, 1e10)] + [(b.lo, b.hi) for b in TRAFFIC_SIGN_BUCKETS]
    for _ in range(30):
        gt_dict, dets = random_case(rng)
        if not dets:
            continue
        records = match(dataset(gt_dict), dets)
        result = evaluate_records(records, size_buckets="traffic_sign", tide=False)
        ev = pycocotools_eval(gt_dict, dets, area_ranges=ranges)
        for i, bucket in enumerate(result.per_size, start=1):
            s = ev.eval["precision"][:, :, :, i, 2]
            ref = float(np.mean(s[s > -1])) if (s > -1).any() else -1.0
            assert bucket.ap == pytest.approx(ref, abs=TOL)
            r = ev.eval["recall"][:, :, i, 2]
            ref_ar = float(np.mean(r[r > -1])) if (r > -1).any() else -1.0
            assert bucket.ar100 == pytest.approx(ref_ar, abs=TOL)


def test_per_class_ap_equals_pycocotools_per_category():
    rng = np.random.default_rng(3)
    for _ in range(30):
        gt_dict, dets = random_case(rng)
        if not dets:
            continue
        result = evaluate_records(match(dataset(gt_dict), dets), tide=False)
        ev = pycocotools_eval(gt_dict, dets)
        for k, cls in enumerate(result.per_class):
            s = ev.eval["precision"][:, :, k, 0, 2]
            ref = float(np.mean(s)) if (s > -1).all() else -1.0
            assert cls.ap == pytest.approx(ref, abs=TOL)
            assert cls.ap50 == pytest.approx(float(np.mean(s[0])) if ref != -1 else -1.0, abs=TOL)


def test_class_without_ground_truth_has_ap_minus_one_and_is_left_out_of_the_mean():
    gt_dict = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "area": 400, "iscrowd": 0}],
        "categories": [{"id": 1, "name": "stop"}, {"id": 2, "name": "yield"}],
    }
    dets = [{"image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "score": 0.9},
            {"image_id": 1, "category_id": 2, "bbox": [50, 50, 20, 20], "score": 0.8}]
    result = evaluate_records(match(dataset(gt_dict), dets))
    assert result.class_metrics("yield").ap == -1.0
    assert result.class_metrics("stop").ap == pytest.approx(1.0)
    assert result.summary["ap"] == pytest.approx(1.0)
    np.testing.assert_allclose(result.coco_stats, pycocotools_eval(gt_dict, dets).stats, atol=TOL)


def test_empty_predictions_give_zero_ap_for_classes_with_ground_truth():
    gt_dict, _ = random_case(np.random.default_rng(5))
    gt_dict["annotations"] = [a for a in gt_dict["annotations"] if not a["iscrowd"]] or [
        {"id": 1, "image_id": gt_dict["images"][0]["id"], "category_id": gt_dict["categories"][0]["id"],
         "bbox": [1, 1, 40, 40], "area": 1600, "iscrowd": 0}]
    result = evaluate_records(match(dataset(gt_dict), []))
    with_gt = {a["category_id"] for a in gt_dict["annotations"]}
    for cls in result.per_class:
        assert cls.ap == (0.0 if cls.category_id in with_gt else -1.0)
    assert result.coco_stats[0] == 0.0 and result.coco_stats[8] == 0.0


def test_recall_exactly_on_a_quirky_coco_threshold():
    """pycocotools' recall threshold 0.35 is one ulp above 35/100: recall exactly 0.35 does not
    reach it. 20 ground truths with 7 found early puts recall on exactly that value."""
    images = [{"id": i, "file_name": f"{i}.jpg", "width": 200, "height": 200} for i in range(1, 21)]
    anns = [{"id": i, "image_id": i, "category_id": 1, "bbox": [10, 10, 50, 50], "area": 2500, "iscrowd": 0}
            for i in range(1, 21)]
    dets = [{"image_id": i, "category_id": 1, "bbox": [10, 10, 50, 50], "score": 0.9} for i in range(1, 8)]
    dets += [{"image_id": i, "category_id": 1, "bbox": [120, 120, 30, 30], "score": 0.8} for i in range(1, 5)]
    dets += [{"image_id": i, "category_id": 1, "bbox": [10, 10, 50, 50], "score": 0.5} for i in range(8, 16)]
    gt_dict = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "a"}]}
    ours = evaluate_records(match(dataset(gt_dict), dets), tide=False).coco_stats
    np.testing.assert_allclose(ours, pycocotools_eval(gt_dict, dets).stats, rtol=0, atol=1e-12)


def test_resampled_datasets_match_pycocotools():
    """Records weighted by a bootstrap draw give what pycocotools computes on the dataset that
    holds each drawn image as many times as it was drawn (copies are separate images)."""
    rng = np.random.default_rng(99)
    checked = ties = 0
    while checked < 60:
        gt_dict, dets = random_case(rng)
        if not dets:
            continue
        records = match(dataset(gt_dict), dets)
        n = records.num_images
        draws = [rng.integers(0, n, n) for _ in range(2)]
        copies = max(int(np.bincount(d, minlength=n).max()) for d in draws)
        engine = MetricEngine(records, 0.5, COCO_BUCKETS, tie_copies=copies)
        ties += within_image_ties(records)
        for draw in draws:
            g2, d2 = resampled_case(gt_dict, dets, draw)
            if not d2:
                continue
            weights = np.bincount(draw, minlength=n)
            acc = accumulate(engine.plan, weights)
            slot = {c: i for i, c in enumerate(engine.plan_columns)}
            area = [slot[records.area_index(b.lo, b.hi)] for b in COCO_BUCKETS]
            ours = coco_summary(acc, slot[0], *area, records.iou_thresholds)
            ref = pycocotools_eval(g2, d2).stats
            np.testing.assert_allclose(ours, ref, rtol=0, atol=TOL)
            # the bootstrap's own figures (AP from per-column means, AR@100) agree too
            m = engine.compute(weights, all_max_dets=False)
            k = records.num_categories
            assert np.nan_to_num(m.ap[k, 0], nan=-1.0) == pytest.approx(ref[0], abs=TOL)
            assert np.nan_to_num(m.ap50[k, 0], nan=-1.0) == pytest.approx(ref[1], abs=TOL)
            assert np.nan_to_num(m.ar100[k, 0], nan=-1.0) == pytest.approx(ref[8], abs=TOL)
            checked += 1
    assert ties >= 5  # within-image score ties (the interleaving case) were exercised


def test_ties_within_an_image_need_per_copy_expansion():
    """Without expanding tied detections per copy, a duplicated image with a tied true and false
    positive is accumulated in the wrong order; with it, pycocotools' number comes out."""
    gt_dict = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100},
                   {"id": 2, "file_name": "b.jpg", "width": 100, "height": 100}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 20, 20], "area": 400, "iscrowd": 0},
                        {"id": 2, "image_id": 2, "category_id": 1, "bbox": [0, 0, 20, 20], "area": 400, "iscrowd": 0}],
        "categories": [{"id": 1, "name": "a"}],
    }
    dets = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 20, 20], "score": 0.5},
            {"image_id": 1, "category_id": 1, "bbox": [50, 50, 20, 20], "score": 0.5}]
    records = match(dataset(gt_dict), dets)
    draw = np.array([0, 0])  # image 1 twice
    ref = pycocotools_eval(*resampled_case(gt_dict, dets, draw)).stats[0]
    weights = np.array([2, 0])
    expanded = accumulate(build_plan(records, tie_copies=2), weights)
    plain = accumulate(build_plan(records, tie_copies=1), weights)
    assert expanded.precision[0, 0].mean() == pytest.approx(ref, abs=TOL)
    assert plain.precision[0, 0].mean() != pytest.approx(ref, abs=1e-6)
