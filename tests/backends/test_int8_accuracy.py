"""INT8 accuracy on the shipped, genuinely trained model: fp16 high precision costs more AP than the policy allows, fp32 does not.

Model Optimizer's default `high_precision_dtype="fp16"` converts everything it does not quantize to
fp16; on RT-DETR this destroyed accuracy when measured (0.628 -> 0.204 AP), which is why tsrgate
defaults to fp32. This test proves the gate sees the difference: both INT8 variants of the shipped
models/synth-stage3 (the model the INT8 defaults were chosen on) are calibrated on freshly generated
training-distribution images and evaluated (pycocotools) on other freshly generated images, against
the fp32 reference. How much fp16 costs depends on the model: on synth-baseline 2.0.0, measured the
same way, AP moved only 0.442 -> 0.436 but 24 % of its detections changed (fp32: 0.451, 6 %).
It needs the shipped model; without it the test is skipped for that reason only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.backends import create_backend
from gate.backends.consistency import compare_detections
from gate.data.dataset import DetectionDataset
from gate.cards.card import load_card
from gate.cards.classes import card_class_map, class_view
from gate.models.evaluate import coco_metrics
from tests.backends.exported import use_private_cache

SHIPPED_MODEL = Path(__file__).resolve().parents[2] / "models" / "synth-stage3"
EVAL_IMAGES = 40
CALIBRATION_IMAGES = 8


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch, tmp_path_factory):
    use_private_cache(monkeypatch, tmp_path_factory)


@pytest.fixture(scope="module")
def shipped_model() -> Path:
    if not (SHIPPED_MODEL / "card.json").is_file():
        pytest.skip(f"the shipped model {SHIPPED_MODEL} is not present (it is trained by `tsrgate train`, see "
                    f"models/recipes/synth-stage3.yaml)")
    return SHIPPED_MODEL


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    """Unseen images of the model's training distribution: one world to calibrate on, one to evaluate on."""
    from gate.data.synth.world import generate_world

    root = tmp_path_factory.mktemp("worlds")
    calibration = generate_world(root / "calibration", images=CALIBRATION_IMAGES, seed=101, workers=1)
    evaluation = generate_world(root / "evaluation", images=EVAL_IMAGES, seed=202, workers=1)
    return calibration, evaluation


def _ap(backend_name: str, model: Path, dataset: DetectionDataset, view, **options):
    ids = [img.id for img in dataset.images]
    detections = []
    with create_backend(backend_name, model, threads=1, **options) as backend:
        for start in range(0, len(ids), 4):
            chunk = list(dataset.iter_images(ids[start : start + 4]))
            detections.extend(backend.infer([c.pixels for c in chunk], [c.info.id for c in chunk]))
    return coco_metrics(view, detections, split="eval").ap, detections


def test_fp16_high_precision_is_a_large_ap_drop_and_fp32_is_not(shipped_model, worlds):
    calibration, evaluation = worlds
    card = load_card(shipped_model)
    dataset = DetectionDataset.load(evaluation)
    recipe_classes = card.training.recipe.content.get("classes") if card.training else None
    classes = card_class_map(card.class_names, dataset.coco, recipe_classes, dataset.annotations_path)
    view = class_view(dataset.coco, classes)

    reference_ap, reference = _ap("onnx", shipped_model, dataset, view)
    assert reference_ap > 0.1, f"the shipped model should be genuinely trained, its fp32 AP is {reference_ap:.3f}"
    results = {}
    for dtype in ("fp32", "fp16"):
        settings = {"calibration_images": CALIBRATION_IMAGES, "calibration_method": "max",
                    "high_precision_dtype": dtype, "calibration_data": str(calibration)}
        ap, detections = _ap("int8", shipped_model, dataset, view, export_settings=settings)
        consistency = compare_detections(reference, detections, backend=f"int8-{dtype}",
                                         score_threshold=card.postprocessing.operating_threshold)
        results[dtype] = (ap, consistency.disagreement_rate)
    fp32_ap, fp32_disagreement = results["fp32"]
    fp16_ap, fp16_disagreement = results["fp16"]
    # The default policy's int8-ap-delta rule allows INT8 to cost at most `ceiling` AP against the fp32
    # graph: with fp32 high precision the shipped model stays inside it, with fp16 it does not, and
    # far more of its detections change. (Measured on synth-stage3, Q/DQ on convolutions: fp32 0.411
    # -> 0.402, 4 % of detections disagree; fp16 -> 0.375, 31 %. With Q/DQ on every op type fp16
    # collapses further: 0.628 -> 0.204 on an earlier trained tiny RT-DETR.)
    ceiling = _int8_ap_ceiling()
    assert reference_ap - fp32_ap <= ceiling, (reference_ap, results)
    assert reference_ap - fp16_ap > ceiling, (reference_ap, results)
    assert fp16_disagreement > 3 * fp32_disagreement, (reference_ap, results)


def _int8_ap_ceiling() -> float:
    from gate.policy import load_policy

    policy, _ = load_policy(None)
    [rule] = [r for r in policy.rules if r.id == "int8-ap-delta"]
    return float(rule.check.max_value)
