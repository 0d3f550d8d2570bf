"""Classes a taxonomy maps to `ignore` become ignore regions by default: a detection on such a sign is
neither a true nor a false positive, exactly as pycocotools scores crowd regions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from gate.eval.evaluation import evaluate
from gate.suites.build import build_suite
from gate.suites.manifest import load_manifest
from tests.eval.cases import pycocotools_eval
from tests.suites.conftest import write_spec

SIGN_A = [10.0, 10.0, 20.0, 20.0]  # speed limit in image 1 (scored)
SIGN_B = [60.0, 40.0, 24.0, 24.0]  # parking sign in image 1 (no counterpart: ignored)
SIGN_C = [30.0, 50.0, 18.0, 18.0]  # speed limit in image 2 (scored)


def _dataset(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    for image_id in (1, 2):
        Image.fromarray(np.full((100, 120, 3), 90 + image_id, np.uint8)).save(root / "images" / f"{image_id}.png")
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": SIGN_A, "area": 400.0, "iscrowd": 0},
        {"id": 2, "image_id": 1, "category_id": 2, "bbox": SIGN_B, "area": 576.0, "iscrowd": 0},
        {"id": 3, "image_id": 2, "category_id": 1, "bbox": SIGN_C, "area": 324.0, "iscrowd": 0},
    ]
    (root / "annotations.json").write_text(json.dumps({
        "images": [{"id": i, "file_name": f"{i}.png", "width": 120, "height": 100} for i in (1, 2)],
        "annotations": annotations,
        "categories": [{"id": 1, "name": "speed_limit_30"}, {"id": 2, "name": "parking"}],
    }))
    return root


def _suite_coco(tmp_path: Path, ignored: str | None):
    taxonomy = {"categories": ["prohibitory", "danger"],
                "source": {"map": {"speed_limit_30": "prohibitory", "parking": "ignore"}}}
    if ignored is not None:
        taxonomy["ignored"] = ignored
    name = f"ignore-{ignored or 'default'}"
    spec = write_spec(tmp_path / "specs" / f"{name}.yaml", {
        "name": name, "version": 1, "seed": 1, "source": {"dataset": str(_dataset(tmp_path / name))},
        "taxonomy": taxonomy})
    report = build_suite(spec)
    return load_manifest(report.manifest_path).to_coco()


DETECTIONS = [
    {"image_id": 1, "category_id": 1, "bbox": [11.0, 10.0, 20.0, 20.0], "score": 0.9},   # hits A
    {"image_id": 1, "category_id": 2, "bbox": [60.0, 41.0, 24.0, 23.0], "score": 0.95},  # on B, as danger
    {"image_id": 1, "category_id": 1, "bbox": [61.0, 40.0, 23.0, 24.0], "score": 0.8},   # on B, as prohibitory
    {"image_id": 2, "category_id": 1, "bbox": [30.0, 50.0, 18.0, 17.0], "score": 0.7},   # hits C
    {"image_id": 2, "category_id": 1, "bbox": [90.0, 5.0, 15.0, 15.0], "score": 0.75},   # a real false positive
]
ON_B = (1, 2)


def _stats(coco, dets):
    ours = np.array(evaluate(coco, [dict(d) for d in dets], tide=False).coco_stats)
    reference = pycocotools_eval(coco.model_dump(mode="json"), dets).stats
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-9)
    return ours


def test_ignored_class_is_a_crowd_region_for_every_category(tmp_path):
    coco = _suite_coco(tmp_path, None)
    regions = [a for a in coco.annotations if a.image_id == 1 and a.bbox == SIGN_B]
    assert sorted(a.category_id for a in regions) == [1, 2]
    assert all(a.iscrowd == 1 and a.ignore for a in regions)


def test_detections_on_ignored_signs_are_neither_true_nor_false_positives(tmp_path):
    coco = _suite_coco(tmp_path, None)
    with_b = _stats(coco, DETECTIONS)
    without_b = _stats(coco, [d for i, d in enumerate(DETECTIONS) if i not in ON_B])
    np.testing.assert_array_equal(with_b, without_b)
    assert with_b[0] < 1.0  # the real false positive still counts


def test_ignored_drop_keeps_the_old_meaning_false_positives(tmp_path):
    coco = _suite_coco(tmp_path, "drop")
    assert not any(a.bbox == SIGN_B for a in coco.annotations)
    with_b = _stats(coco, DETECTIONS)
    without_b = _stats(coco, [d for i, d in enumerate(DETECTIONS) if i not in ON_B])
    assert with_b[0] < without_b[0]
