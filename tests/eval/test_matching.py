"""COCO matching rules, one named test per rule, and the match records' persistence."""

from __future__ import annotations

import numpy as np
import pytest

from gate.errors import InputError
from gate.eval import MatchRecords, match
from gate.eval.matching import box_iou
from tests.eval.cases import dataset, random_case


def _gt(*anns, images=1, categories=(1, 2)):
    full = []
    for i, a in enumerate(anns, start=1):
        box = a["bbox"]
        full.append({"id": i, "image_id": a.get("image_id", 1), "category_id": a.get("category_id", 1), "bbox": box,
                     "area": a.get("area", box[2] * box[3]), "iscrowd": a.get("iscrowd", 0),
                     **({"ignore": True} if a.get("iscrowd") else {})})
    return dataset({
        "images": [{"id": i, "file_name": f"{i}.jpg", "width": 640, "height": 480} for i in range(1, images + 1)],
        "annotations": full,
        "categories": [{"id": c, "name": f"c{c}"} for c in categories],
    })


def _det(box, score, category_id=1, image_id=1):
    return {"image_id": image_id, "category_id": category_id, "bbox": box, "score": score}


def _by_input_order(records, flags):
    out = np.empty_like(flags)
    out[records.det_index] = flags
    return out


def test_box_iou_equals_pycocotools_mask_iou():
    from pycocotools import mask as mask_utils

    rng = np.random.default_rng(0)
    d = np.column_stack([rng.uniform(0, 50, (40, 2)), rng.uniform(0.5, 40, (40, 2))])
    g = np.column_stack([rng.uniform(0, 50, (30, 2)), rng.uniform(0.5, 40, (30, 2))])
    crowd = rng.random(30) < 0.3
    ref = mask_utils.iou(d.tolist(), g.tolist(), crowd.astype(np.uint8).tolist())
    ours = box_iou(d[:, None, :], g[None, :, :], crowd[None, :])
    assert np.array_equal(ours, ref)


def test_higher_score_detection_takes_the_ground_truth_first():
    gt = _gt({"bbox": [10, 10, 40, 40]})
    records = match(gt, [_det([12, 12, 40, 40], 0.6), _det([10, 10, 40, 40], 0.9)])
    tp = _by_input_order(records, records.tp_flags(0, 0))
    assert tp.tolist() == [False, True]  # the 0.9 detection wins although listed second


def test_equal_iou_goes_to_the_later_ground_truth_like_pycocotools():
    gt = _gt({"bbox": [0, 0, 10, 10]}, {"bbox": [0, 0, 10, 10]})
    records = match(gt, [_det([0, 0, 10, 10], 0.9)])
    assert records.gt_annotation_id[records.det_gt50[0]] == 2


def test_best_iou_wins_not_the_first_fit():
    gt = _gt({"bbox": [0, 0, 10, 10]}, {"bbox": [1, 1, 10, 10]})
    records = match(gt, [_det([1, 1, 10, 10], 0.9)])
    assert records.gt_annotation_id[records.det_gt50[0]] == 2


def test_detection_on_an_ignore_region_is_ignored_and_the_region_absorbs_many():
    gt = _gt({"bbox": [0, 0, 100, 100], "iscrowd": 1})
    dets = [_det([10, 10, 20, 20], 0.9), _det([50, 50, 20, 20], 0.8), _det([200, 200, 20, 20], 0.7)]
    records = match(gt, dets)
    ignored = _by_input_order(records, records.ignored_flags(0, 0))
    tp = _by_input_order(records, records.tp_flags(0, 0))
    assert ignored.tolist() == [True, True, False] and not tp.any()
    assert records.gt_counted(0).sum() == 0  # an ignore region is never a ground truth to find


def test_crowd_iou_divides_by_the_detection_area():
    gt = _gt({"bbox": [0, 0, 100, 100], "iscrowd": 1})
    records = match(gt, [_det([90, 0, 20, 20], 0.9)])  # half inside: crowd IoU 0.5, plain IoU ~0.02
    t50, t55 = 0, 1
    assert records.ignored_flags(0, t50)[0] and not records.ignored_flags(0, t55)[0]


def test_regular_ground_truth_is_preferred_over_an_ignore_region():
    gt = _gt({"bbox": [0, 0, 100, 100], "iscrowd": 1}, {"bbox": [10, 10, 30, 30]})
    records = match(gt, [_det([10, 10, 30, 30], 0.9)])
    assert records.tp_flags(0, 0)[0] and not records.ignored_flags(0, 0)[0]


def test_ground_truth_outside_the_area_range_is_ignored_there_not_missed():
    gt = _gt({"bbox": [0, 0, 50, 50]})  # area 2500: "medium"
    records = match(gt, [_det([0, 0, 50, 50], 0.9)])
    small = records.area_index(0.0, 32.0**2)
    medium = records.area_index(32.0**2, 96.0**2)
    assert records.tp_flags(medium, 0)[0]
    assert records.ignored_flags(small, 0)[0] and not records.tp_flags(small, 0)[0]
    assert records.gt_counted(small).sum() == 0 and records.gt_counted(medium).sum() == 1


def test_unmatched_detection_outside_the_area_range_is_ignored():
    gt = _gt({"bbox": [0, 0, 10, 10]})
    records = match(gt, [_det([200, 200, 60, 60], 0.9)])  # a large false positive
    small = records.area_index(0.0, 32.0**2)
    large = records.area_index(96.0**2, 1e10)
    medium = records.area_index(32.0**2, 96.0**2)
    assert records.ignored_flags(small, 0)[0] and records.ignored_flags(large, 0)[0]
    assert not records.ignored_flags(medium, 0)[0]  # a false positive where its own size falls


def test_area_field_not_box_decides_the_ground_truth_bucket():
    gt = _gt({"bbox": [0, 0, 50, 50], "area": 100.0})  # box is medium, area field says small
    records = match(gt, [_det([0, 0, 50, 50], 0.9)])
    assert records.gt_counted(records.area_index(0.0, 32.0**2)).sum() == 1


def test_more_than_max_dets_are_matched_but_ranked():
    gt = _gt({"bbox": [0, 0, 10, 10]})
    dets = [_det([300, 300, 10, 10], 0.9 - i * 0.001) for i in range(120)] + [_det([0, 0, 10, 10], 0.1)]
    records = match(gt, dets)
    last = np.flatnonzero(records.det_index == 120)[0]
    assert records.det_rank[last] == 120 and records.tp_flags(0, 0)[last]  # matched, but past the top 100


def test_ranks_break_score_ties_by_input_order():
    gt = _gt({"bbox": [0, 0, 10, 10]})
    records = match(gt, [_det([0, 0, 10, 10], 0.5), _det([0, 0, 10, 10], 0.5)])
    assert _by_input_order(records, records.det_rank).tolist() == [0, 1]
    assert _by_input_order(records, records.tp_flags(0, 0)).tolist() == [True, False]


def test_higher_iou_thresholds_need_tighter_boxes():
    gt = _gt({"bbox": [0, 0, 100, 100]})
    records = match(gt, [_det([0, 0, 100, 80], 0.9)])  # IoU 0.8
    assert [bool(records.tp_flags(0, t)[0]) for t in range(10)] == [True] * 7 + [False] * 3


def test_class_agnostic_match_links_a_wrong_class_detection_to_the_sign():
    gt = _gt({"bbox": [0, 0, 40, 40], "category_id": 1})
    records = match(gt, [_det([0, 0, 40, 40], 0.9, category_id=2)])
    assert records.det_agnostic_gt[0] == 0 and not records.tp_flags(0, 0)[0]


def test_unknown_image_in_ground_truth_annotation_is_an_input_error():
    with pytest.raises(InputError, match="image_id 7"):
        match(dataset({
            "images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
            "annotations": [{"id": 3, "image_id": 7, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1, "iscrowd": 0}],
            "categories": [{"id": 1, "name": "a"}],
        }), [])


def test_records_save_and_load_back_equal(tmp_path):
    gt_dict, dets = random_case(np.random.default_rng(1))
    records = match(dataset(gt_dict), dets)
    path = tmp_path / "r.records.npz"
    records.save(path)
    loaded = MatchRecords.load(path)
    assert loaded.equals(records)
    assert not (set(p.name for p in tmp_path.iterdir()) - {"r.records.npz"})  # no temporary left behind


def test_corrupt_records_file_is_an_input_error(tmp_path):
    path = tmp_path / "bad.records.npz"
    path.write_bytes(b"not an npz")
    with pytest.raises(InputError, match="unreadable match records"):
        MatchRecords.load(path)


def test_records_of_another_format_are_refused(tmp_path):
    gt_dict, dets = random_case(np.random.default_rng(2))
    records = match(dataset(gt_dict), dets)
    path = tmp_path / "r.npz"
    records.save(path)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["meta"] = np.array(str(arrays["meta"]).replace('"format": 1', '"format": 99'))
    np.savez(path, **arrays)
    with pytest.raises(InputError, match="format 99"):
        MatchRecords.load(path)
