"""`tsrgate eval`: table, --json (pycocotools-checkable), --compare, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.eval.cases import pycocotools_eval, random_case
from tests.eval.cases import traffic_scene as _scene, without_private_keys as _clean


@pytest.fixture()
def files(tmp_path):
    gt, dets = _scene(seed=11, n_images=60)
    gt_path, pred_path, other_path = tmp_path / "gt.json", tmp_path / "pred.json", tmp_path / "other.json"
    gt_path.write_text(json.dumps(gt.to_json_dict()))
    pred_path.write_text(json.dumps(_clean(dets)))
    rng = np.random.default_rng(0)
    other_path.write_text(json.dumps(_clean([d for d in dets if rng.random() < 0.8])))
    return gt_path, pred_path, other_path


def test_eval_prints_the_metrics_table(run_cli, files):
    gt_path, pred_path, _ = files
    result = run_cli("eval", gt_path, pred_path)
    assert result.exit_code == 0, result.output
    for text in ("AP50", "operating point", "size (traffic_sign)", "tiny", "stop", "TIDE"):
        assert text in result.output


def test_json_coco_stats_equal_pycocotools_one_for_one(run_cli, tmp_path):
    gt_dict, dets = random_case(np.random.default_rng(12))
    (tmp_path / "gt.json").write_text(json.dumps(gt_dict))
    (tmp_path / "p.json").write_text(json.dumps(dets))
    result = run_cli("eval", tmp_path / "gt.json", tmp_path / "p.json", "--json", tmp_path / "out.json",
                     "--threshold", "0.3")
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "out.json").read_text())
    np.testing.assert_allclose(written["coco_stats"], pycocotools_eval(gt_dict, dets).stats, rtol=0, atol=1e-9)
    assert written["threshold"]["score_threshold"] == 0.3
    assert [s["name"] for s in written["per_size"]] == ["tiny", "small", "medium", "large"]
    assert (tmp_path / "out.records.npz").is_file()


def test_size_buckets_coco_on_request(run_cli, files, tmp_path):
    gt_path, pred_path, _ = files
    result = run_cli("eval", gt_path, pred_path, "--size-buckets", "coco", "--json", tmp_path / "o.json")
    assert result.exit_code == 0
    assert [s["name"] for s in json.loads((tmp_path / "o.json").read_text())["per_size"]] == ["small", "medium", "large"]


def test_compare_prints_bootstrap_deltas_and_writes_them(run_cli, files, tmp_path):
    gt_path, pred_path, other_path = files
    result = run_cli("eval", gt_path, pred_path, "--compare", other_path, "--resamples", "50", "--seed", "3",
                     "--json", tmp_path / "o.json")
    assert result.exit_code == 0, result.output
    assert "paired bootstrap: 50 resamples" in result.output and "recall_at_threshold" in result.output
    comparison = json.loads((tmp_path / "o.comparison.json").read_text())
    assert comparison["seed"] == 3 and comparison["resamples"] == 50
    ap = next(d for d in comparison["deltas"] if d["metric"] == "ap" and d["class_name"] is None and d["size"] is None)
    assert ap["delta"] > 0  # the other file lost a fifth of the detections


def test_bad_predictions_exit_2_with_one_line(run_cli, files, tmp_path):
    gt_path, pred_path, _ = files
    bad = json.loads(pred_path.read_text())
    bad[3]["score"] = 7.0
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    result = run_cli("eval", gt_path, path)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: prediction #3 ")
    assert "score outside [0, 1]" in lines[0] and "Traceback" not in result.output


def test_missing_annotations_exit_2(run_cli, files, tmp_path):
    _, pred_path, _ = files
    result = run_cli("eval", tmp_path / "none.json", pred_path)
    assert result.exit_code == 2 and "annotations file not found" in result.output


def test_threshold_out_of_range_is_refused(run_cli, files):
    gt_path, pred_path, _ = files
    result = run_cli("eval", gt_path, pred_path, "--threshold", "1.5")
    assert result.exit_code == 2
