"""Result objects: JSON round trip, records beside them, bad files, metric directions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gate.errors import InputError
from gate.eval import (
    EVAL_METRICS,
    EvaluationResult,
    MatchRecords,
    evaluate_records,
    evaluate_with_records,
    higher_is_better,
    records_path_for,
)
from gate.policy.metrics import GATE_METRICS
from tests.eval.cases import dataset, random_case


def test_evaluation_result_saves_and_loads_back_equal_with_records_beside(tmp_path):
    gt_dict, dets = random_case(np.random.default_rng(8))
    result, records = evaluate_with_records(dataset(gt_dict), dets, score_threshold=0.3)
    path = tmp_path / "eval.json"
    result.save(path, records=records)
    assert EvaluationResult.load(path) == result
    assert records_path_for(path) == tmp_path / "eval.records.npz"
    loaded = MatchRecords.load(records_path_for(path))
    assert evaluate_records(loaded, score_threshold=0.3) == result  # the records reproduce every number


def test_json_starts_with_coco_stats_then_per_class_per_size_and_operating_point(tmp_path):
    gt_dict, dets = random_case(np.random.default_rng(9))
    result, _ = evaluate_with_records(dataset(gt_dict), dets)
    result.save(tmp_path / "e.json")
    keys = list(json.loads((tmp_path / "e.json").read_text()).keys())
    order = [keys.index(k) for k in ("coco_stats", "per_class", "per_size", "threshold")]
    assert order == sorted(order)
    assert len(json.loads((tmp_path / "e.json").read_text())["coco_stats"]) == 12


def test_missing_result_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        EvaluationResult.load(tmp_path / "nope.json")


def test_hand_edited_result_names_the_bad_field(tmp_path):
    gt_dict, dets = random_case(np.random.default_rng(10))
    result, _ = evaluate_with_records(dataset(gt_dict), dets)
    path = tmp_path / "e.json"
    result.save(path)
    raw = json.loads(path.read_text())
    raw["threshold"]["tp"] = "many"
    path.write_text(json.dumps(raw))
    with pytest.raises(InputError, match="threshold.tp"):
        EvaluationResult.load(path)


def test_result_from_another_format_is_refused(tmp_path):
    path = tmp_path / "e.json"
    path.write_text(json.dumps({"format": 42}))
    with pytest.raises(InputError, match="format 42"):
        EvaluationResult.load(path)


def test_every_metric_states_its_direction_and_agrees_with_the_gate():
    assert higher_is_better("ap") and not higher_is_better("fp_per_image") and not higher_is_better("confusion")
    for name, metric in GATE_METRICS.items():
        if name in EVAL_METRICS:
            assert EVAL_METRICS[name].higher_is_better == metric.higher_is_better, name
    with pytest.raises(InputError, match="unknown metric"):
        higher_is_better("accuracy")


def test_records_file_bytes_are_deterministic(tmp_path, later_clock):
    """Same evaluation, same bytes: results folders (and their hashes) are reproducible."""
    from gate.data.coco import CocoAnnotation, CocoCategory, CocoDataset, CocoImage
    from gate.eval import evaluate_with_records

    gt = CocoDataset(
        images=[CocoImage(id=1, file_name="a.png", width=100, height=100)],
        annotations=[CocoAnnotation(id=1, image_id=1, category_id=1, bbox=[10, 10, 20, 20], area=400)],
        categories=[CocoCategory(id=1, name="stop")],
    )
    preds = [{"image_id": 1, "category_id": 1, "bbox": [11, 10, 20, 20], "score": 0.9}]
    _, records = evaluate_with_records(gt, preds)
    records.save(tmp_path / "a.npz")
    later_clock()  # a day later by the wall clock: a zip stamp taken from it would differ
    records.save(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
