"""Validation during training and the numbers written into model cards: pycocotools COCO AP.

The gate's own evaluator (scenario suites, bootstrap intervals) lives elsewhere; a model card needs
only the plain reference numbers, so they are computed here directly with pycocotools, the
reference implementation every AP in tsrgate agrees with.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from gate.backends.detections import Detections
from gate.backends.postprocess import box_iou_one_to_many
from gate.data.coco import CocoDataset
from gate.models.card import MetricsRecord


# Area ranges of gate.eval's traffic-sign size scheme (inclusive ends, as pycocotools tests them).
SIGN_SIZE_BUCKETS: tuple[tuple[str, tuple[float, float]], ...] = (
    ("tiny", (0.0, 16.0**2)),
    ("small", (16.0**2, 32.0**2)),
    ("medium", (32.0**2, 96.0**2)),
    ("large", (96.0**2, 1e5**2)),
)


def _coco_api(gt: CocoDataset):
    from pycocotools.coco import COCO

    api = COCO()
    api.dataset = gt.to_json_dict()
    for ann in api.dataset["annotations"]:
        if "area" not in ann:
            ann["area"] = ann["bbox"][2] * ann["bbox"][3]
    with contextlib.redirect_stdout(io.StringIO()):
        api.createIndex()
    return api


def _mean_valid(values: np.ndarray) -> float:
    valid = values[values > -1]
    return float(valid.mean()) if valid.size else -1.0


def coco_metrics(gt: CocoDataset, detections: Sequence[Detections], split: str, step: int | None = None) -> MetricsRecord:
    """COCO AP of label-indexed detections against a class-view dataset (category id = label + 1)."""
    labels_to_ids = {i: i + 1 for i in range(len(gt.categories))}
    results = [r for d in detections for r in d.to_coco_results(labels_to_ids)]
    return coco_metrics_of_results(gt, results, split, step)


def coco_metrics_of_results(gt: CocoDataset, results: list[dict], split: str, step: int | None = None) -> MetricsRecord:
    """COCO AP of COCO-format results (category ids of `gt`) with pycocotools."""
    from pycocotools.cocoeval import COCOeval

    image_ids = sorted(img.id for img in gt.images)
    boxes = sum(1 for a in gt.annotations if not a.iscrowd)
    names = {c.id: c.name for c in gt.categories}
    if not results or not boxes:
        # pycocotools cannot load an empty result list; nothing detected means AP 0 where GT exists.
        value = 0.0 if boxes else -1.0
        return MetricsRecord(
            split=split, images=len(image_ids), boxes=boxes, ap=value, ap50=value, ap75=value, ap_small=value,
            ap_medium=value, ap_large=value, ar100=value, per_class_ap50={n: value for n in names.values()},
            per_class_ap={n: value for n in names.values()}, step=step,
        )
    api = _coco_api(gt)
    with contextlib.redirect_stdout(io.StringIO()):
        dt = api.loadRes(results)
        evaluator = COCOeval(api, dt, iouType="bbox")
        evaluator.params.imgIds = image_ids
        # COCO's four ranges first (summarize() looks them up by label), then the sign buckets.
        evaluator.params.areaRng = [*evaluator.params.areaRng, *[list(r) for _, r in SIGN_SIZE_BUCKETS]]
        evaluator.params.areaRngLbl = [*evaluator.params.areaRngLbl, *[f"sign_{n}" for n, _ in SIGN_SIZE_BUCKETS]]
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    stats = evaluator.stats
    precision = evaluator.eval["precision"]  # [T, R, K, A, M]
    cat_ids = evaluator.params.catIds
    per_ap50, per_ap = {}, {}
    for k, cat in enumerate(cat_ids):
        per_ap50[names[cat]] = round(_mean_valid(precision[0, :, k, 0, 2]), 6)
        per_ap[names[cat]] = round(_mean_valid(precision[:, :, k, 0, 2]), 6)
    per_size_ap, per_size_ap50 = {}, {}
    for offset, (bucket, _) in enumerate(SIGN_SIZE_BUCKETS):
        area = 4 + offset
        per_size_ap[bucket] = round(_mean_valid(precision[:, :, :, area, 2]), 6)
        per_size_ap50[bucket] = round(_mean_valid(precision[0, :, :, area, 2]), 6)
    r = lambda v: round(float(v), 6)  # noqa: E731
    return MetricsRecord(
        split=split, images=len(image_ids), boxes=boxes, ap=r(stats[0]), ap50=r(stats[1]), ap75=r(stats[2]),
        ap_small=r(stats[3]), ap_medium=r(stats[4]), ap_large=r(stats[5]), ar100=r(stats[8]),
        per_class_ap50=per_ap50, per_class_ap=per_ap, per_size_ap=per_size_ap, per_size_ap50=per_size_ap50,
        step=step,
    )


@dataclass(frozen=True)
class ImageErrors:
    """Signs a detector got wrong on one image at the operating point."""

    image_id: int
    missed: int  # no detection of any class overlaps the sign
    confused: int  # overlapped, but only by detections of another class

    @property
    def hard(self) -> bool:
        return self.missed + self.confused > 0


def image_errors(
    detections: Detections, gt_boxes: np.ndarray, gt_labels: np.ndarray, threshold: float, match_iou: float
) -> ImageErrors:
    """Count missed and confused signs of one image (detections at or above the operating threshold)."""
    confident = detections.above(threshold)
    missed = confused = 0
    for box, label in zip(gt_boxes.reshape(-1, 4), gt_labels.reshape(-1), strict=True):
        if len(confident) == 0:
            missed += 1
            continue
        overlap = box_iou_one_to_many(box, confident.boxes) >= match_iou
        if not overlap.any():
            missed += 1
        elif not (confident.labels[overlap] == label).any():
            confused += 1
    return ImageErrors(detections.image_id, missed, confused)


def summarize_errors(errors: Iterable[ImageErrors]) -> dict[str, int]:
    errors = list(errors)
    return {
        "images": len(errors),
        "hard_images": sum(e.hard for e in errors),
        "missed": sum(e.missed for e in errors),
        "confused": sum(e.confused for e in errors),
    }


def evaluate_model_folder(model_dir, data_dir, tag: str | None, values: list[str], *, backend_name: str | None = None,
                          threads: int | None = None, batch_size: int = 4, progress: bool = False) -> MetricsRecord:
    """COCO metrics of a model folder on a dataset split, through a backend and the card's pipeline."""
    from gate.backends import create_backend
    from gate.backends.predict import predict_dataset
    from gate.data.dataset import DetectionDataset
    from gate.errors import InputError
    from gate.models.card import load_card
    from gate.models.classes import card_class_map, class_view, select_images

    card = load_card(model_dir)
    dataset = DetectionDataset.load(data_dir)
    ids = select_images(dataset.coco, tag, values)
    if not ids:
        raise InputError(f"no image has {tag} in {values}", path=dataset.annotations_path)
    recipe_classes = card.training.recipe.content.get("classes") if card.training else None
    classes = card_class_map(card.class_names, dataset.coco, recipe_classes, dataset.annotations_path)
    backend_name = backend_name or card.architecture.reference  # torch, or the fp32 ONNX of an ONNX model
    with create_backend(backend_name, model_dir, card=card, threads=threads, max_batch=batch_size * 8) as backend:
        detections = predict_dataset(backend, dataset, ids, batch_size=batch_size, progress=progress)
    split = ",".join(values) if tag else "all"
    return coco_metrics(class_view(dataset.coco, classes, set(ids)), detections, split=split,
                        step=card.training.steps if card.training else None)


def record_card_evaluation(model_dir, record: MetricsRecord):
    """Replace (or add) the card's evaluation record for `record.split`; weights are untouched."""
    from gate.models.card import load_card, save_card

    card = load_card(model_dir)
    kept = [r for r in card.evaluation if r.split != record.split]
    updated = card.model_copy(update={"evaluation": [*kept, record]})
    save_card(type(card).model_validate(updated.model_dump()), model_dir)
    return updated


def suite_split_label(name: str, version: str, manifest_sha256: str) -> str:
    """How a suite evaluation is named in a card: name, version and the manifest it was measured on."""
    return f"suite {name} v{version} (manifest {manifest_sha256[:12]})"


def evaluate_model_on_suite(model_dir, suite_name: str, *, backend_name: str | None = None, threads: int | None = None,
                            batch_size: int = 4, progress: bool = False, cache=None, suites_dir=None,
                            data=None) -> MetricsRecord:
    """pycocotools COCO metrics of a model folder on a scenario suite, mapped through the suite's taxonomy.

    These are the numbers a model card carries for a suite; `tsrgate run` computes the same AP with the
    gate's own evaluator (gate.eval), and a test holds the two to agree.
    """
    from gate.backends import create_backend
    from gate.models.card import load_card
    from gate.run.executors import predict_suite
    from gate.run.runner import category_table, detections_to_results
    from gate.suites import open_suite

    card = load_card(model_dir)
    suite = open_suite(suite_name, cache=cache, suites=suites_dir, data=data)
    backend_name = backend_name or card.architecture.reference  # torch, or the fp32 ONNX of an ONNX model
    with create_backend(backend_name, model_dir, card=card, threads=threads, max_batch=batch_size * 8) as backend:
        detections = predict_suite(backend, suite, batch_size=batch_size, progress=progress)
    results = detections_to_results(detections, category_table(suite, card.class_names))
    return coco_metrics_of_results(suite.coco, results, suite_split_label(suite.name, suite.version, suite.manifest_sha256),
                                   step=card.training.steps if card.training else None)
