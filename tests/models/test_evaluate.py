"""Card metrics (pycocotools) agree with the project's evaluator, and mining counts errors right."""

from __future__ import annotations

import numpy as np
import pytest

from gate.backends.detections import Detections
from gate.data.coco import CocoAnnotation, CocoCategory, CocoDataset, CocoImage
from gate.models.evaluate import coco_metrics, image_errors


def _random_case(seed: int):
    rng = np.random.default_rng(seed)
    images = [CocoImage(id=i, file_name=f"{i}.jpg", width=512, height=320) for i in range(1, 9)]
    annotations, detections = [], []
    for image in images:
        boxes, labels = [], []
        for _ in range(int(rng.integers(1, 5))):
            side = float(np.exp(rng.uniform(np.log(8), np.log(120))))
            x, y = float(rng.uniform(0, 512 - side)), float(rng.uniform(0, 320 - side))
            label = int(rng.integers(3))
            annotations.append(CocoAnnotation(id=len(annotations) + 1, image_id=image.id, category_id=label + 1,
                                              bbox=[x, y, side, side], area=side * side))
            boxes.append([x, y, x + side, y + side])
            labels.append(label)
        # Detections: jittered copies (some with the wrong class) plus random false positives.
        det = np.asarray(boxes) + rng.normal(0, 2, size=(len(boxes), 4))
        det_labels = np.where(rng.random(len(labels)) < 0.8, labels, rng.integers(3, size=len(labels)))
        extra = rng.uniform(0, 300, size=(3, 2))
        det = np.vstack([det, np.hstack([extra, extra + 20])])
        det_labels = np.concatenate([det_labels, rng.integers(3, size=3)])
        detections.append(Detections(image.id, det, rng.uniform(0.05, 1, size=len(det)), det_labels))
    categories = [CocoCategory(id=i + 1, name=n) for i, n in enumerate(["a", "b", "c"])]
    return CocoDataset(images=images, annotations=annotations, categories=categories), detections


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_card_metrics_match_the_project_evaluator(seed):
    from gate.eval import evaluate

    gt, detections = _random_case(seed)
    record = coco_metrics(gt, detections, split="test")
    results = [r for d in detections for r in d.to_coco_results([1, 2, 3])]
    reference = evaluate(gt, results, tide=False)
    assert record.ap == pytest.approx(reference.coco_stats[0], abs=1e-6)
    assert record.ap50 == pytest.approx(reference.coco_stats[1], abs=1e-6)
    assert record.ap_small == pytest.approx(reference.coco_stats[3], abs=1e-6)
    for bucket in ("tiny", "small", "medium"):
        assert record.per_size_ap[bucket] == pytest.approx(reference.size_metrics(bucket).ap, abs=1e-6)
        assert record.per_size_ap50[bucket] == pytest.approx(reference.size_metrics(bucket).ap50, abs=1e-6)
    for name in ("a", "b", "c"):
        assert record.per_class_ap50[name] == pytest.approx(reference.class_metrics(name).ap50, abs=1e-6)


def test_no_detections_is_zero_ap():
    gt, detections = _random_case(0)
    record = coco_metrics(gt, [Detections.empty(d.image_id) for d in detections], split="test")
    assert record.ap == 0.0 and record.ap50 == 0.0


def test_image_errors_count_misses_and_confusions():
    gt_boxes = np.asarray([[0, 0, 10, 10], [50, 50, 70, 70], [100, 100, 120, 120]], np.float32)
    gt_labels = np.asarray([0, 1, 2])
    detections = Detections(1, [[0, 0, 10, 10], [50, 50, 70, 70], [100, 100, 120, 120]], [0.9, 0.8, 0.3], [0, 2, 2])
    errors = image_errors(detections, gt_boxes, gt_labels, threshold=0.5, match_iou=0.5)
    # sign 0 found; sign 1 overlapped only by the wrong class; sign 2's detection is below the threshold.
    assert (errors.missed, errors.confused, errors.hard) == (1, 1, True)


def test_model_folder_evaluation_reproduces_the_card(trained_model_dir, shapes_data, tmp_path):
    import shutil

    from gate.cards.card import load_card
    from gate.models.evaluate import evaluate_model_folder, record_card_evaluation

    card = load_card(trained_model_dir)
    record = evaluate_model_folder(trained_model_dir, shapes_data, "split", ["val"], threads=1)
    assert record == card.evaluation[0]  # the training run's final numbers, recomputed from the folder
    copy = tmp_path / "model"
    shutil.copytree(trained_model_dir, copy)
    updated = record_card_evaluation(copy, record.model_copy(update={"split": "train"}))
    assert [r.split for r in updated.evaluation] == ["val", "train"]
    assert load_card(copy).evaluation == updated.evaluation


def test_suite_measurement_agrees_with_the_gates_evaluator(gate_env):
    """The card's pycocotools numbers and `tsrgate run`'s gate.eval numbers for one suite are the same AP."""
    from gate.models.evaluate import evaluate_model_on_suite
    from gate.run import load_run

    record = evaluate_model_on_suite(gate_env.model_dir, "shapes-fog", suites_dir=gate_env.suites_dir,
                                     cache=gate_env.cache, threads=1)
    entry = load_run(gate_env.results).entry("shapes-fog", "torch")
    assert record.split.startswith("suite shapes-fog v1 (manifest ")
    assert abs(record.ap50 - entry.summary["ap50"]) < 1e-6 and abs(record.ap - entry.summary["ap"]) < 1e-6


def test_measure_records_suite_numbers_in_a_copy_of_the_card(gate_env, run_cli, tmp_path, monkeypatch):
    import shutil

    from gate.cards.card import load_card

    monkeypatch.setenv("TSRGATE_SUITES", str(gate_env.suites_dir))
    copy = tmp_path / "model"
    shutil.copytree(gate_env.model_dir, copy)
    weights_before = (copy / "model.safetensors").read_bytes()
    result = run_cli("measure", copy, "--suite", "shapes-clean", "--record", "--threads", "1")
    assert result.exit_code == 0, result.output
    assert "suite shapes-clean v1" in result.output and "AP50" in result.output
    [suite_record] = [r for r in load_card(copy).evaluation if r.split.startswith("suite shapes-clean")]
    assert 0 <= suite_record.ap50 <= 1 and (copy / "model.safetensors").read_bytes() == weights_before
    assert run_cli("measure", copy, "--suite", "nope").exit_code == 2


def test_a_newer_suite_version_replaces_the_older_numbers_in_the_card(gate_env, tmp_path):
    """A card speaks for the suites shipped now: recording `clean` v2 drops the `clean` v1 record."""
    import shutil

    from gate.cards.card import load_card
    from gate.models.evaluate import record_card_evaluation, suite_of_split_label, suite_split_label

    assert suite_of_split_label(suite_split_label("region-us", "2", "ab" * 32)) == "region-us"
    assert suite_of_split_label("test") is None
    copy = tmp_path / "model"
    shutil.copytree(gate_env.model_dir, copy)
    template = load_card(copy).evaluation[0]
    for version, ap in (("1", 0.1), ("2", 0.2)):
        record_card_evaluation(copy, template.model_copy(update={"split": suite_split_label("clean", version, "0" * 64),
                                                                 "ap": ap}))
    record_card_evaluation(copy, template.model_copy(update={"split": suite_split_label("night", "1", "0" * 64)}))
    splits = [r.split for r in load_card(copy).evaluation]
    assert template.split in splits  # a dataset split is kept
    assert [s for s in splits if s.startswith("suite clean")] == [suite_split_label("clean", "2", "0" * 64)]
    assert any(s.startswith("suite night v1") for s in splits)


def test_cli_predict_writes_results_and_prints_ap(run_cli, trained_model_dir, shapes_data, tmp_path):
    import json

    from gate.data.dataset import DetectionDataset

    out = tmp_path / "results.json"
    result = run_cli("predict", trained_model_dir, shapes_data, "--split", "split=val", "--out", out, "--evaluate",
                     "--threads", "1")
    assert result.exit_code == 0, result.output
    assert "AP " in result.output and "AP50 " in result.output
    val = {img.id for img in DetectionDataset.load(shapes_data).images if img.tags.get("split") == "val"}
    written = json.loads(out.read_text())
    assert written and {r["image_id"] for r in written} <= val
    bad = run_cli("predict", trained_model_dir, shapes_data, "--split", "val", "--evaluate")
    assert bad.exit_code == 2 and "expected TAG=VALUE" in bad.output
