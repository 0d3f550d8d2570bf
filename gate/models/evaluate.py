"""Validation during training and the numbers written into model cards: pycocotools COCO AP.

The gate's own evaluator (scenario suites, bootstrap intervals) lives elsewhere; a model card needs
only the plain reference numbers, so they are computed here directly with pycocotools, the
reference implementation every AP in tsrgate agrees with.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from gate.backends.detections import Detections
from gate.backends.postprocess import box_iou_one_to_many
from gate.data.coco import CocoDataset
from gate.eval.sizes import TRAFFIC_SIGN_BUCKETS
from gate.cards.card import MetricsRecord, ModelCard


# gate.eval's traffic-sign size scheme as (name, area range) pairs (inclusive ends, as pycocotools tests them).
SIGN_SIZE_BUCKETS: tuple[tuple[str, tuple[float, float]], ...] = tuple((b.name, b.key) for b in TRAFFIC_SIGN_BUCKETS)


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


@dataclass
class FolderPredictions:
    """A model folder's detections on (part of) a dataset, with the ground truth in the model's classes."""

    card: ModelCard
    image_ids: list[int]
    detections: list[Detections]
    ground_truth: CocoDataset  # the dataset's boxes as the model's classes see them, on `image_ids`
    category_ids: list[int]  # model label -> category id for a COCO results file
    native_categories: bool  # False: the results use the model's classes 1..K (see `ground_truth`)


def predict_model_folder(model_dir, data_dir, tag: str | None = None, values: list[str] | None = None, *,
                         limit: int | None = None, backend_name: str = "torch", threads: int | None = None,
                         batch_size: int = 4, progress: bool = False) -> FolderPredictions:
    """Run a model folder through a backend and the card's pipeline over a dataset (or the images whose `tag`
    is one of `values`, the first `limit` of them)."""
    from gate.backends import create_backend
    from gate.backends.predict import predict_dataset
    from gate.cards.card import load_card
    from gate.cards.classes import card_class_map, class_view, results_category_ids, select_images
    from gate.data.dataset import DetectionDataset
    from gate.errors import InputError

    card = load_card(model_dir)
    dataset = DetectionDataset.load(data_dir)
    if tag:
        ids = select_images(dataset.coco, tag, list(values or []))
        if not ids:
            raise InputError(f"no image has {tag} in {values}", path=dataset.annotations_path)
    else:
        ids = [img.id for img in dataset.images]
    ids = ids[:limit] if limit else ids
    recipe_classes = card.training.recipe.content.get("classes") if card.training else None
    classes = card_class_map(card.class_names, dataset.coco, recipe_classes, dataset.annotations_path)
    with create_backend(backend_name, model_dir, card=card, threads=threads, max_batch=batch_size * 8) as backend:
        detections = predict_dataset(backend, dataset, ids, batch_size=batch_size, progress=progress)
    category_ids, native = results_category_ids(classes, dataset.coco)
    return FolderPredictions(card=card, image_ids=ids, detections=detections,
                             ground_truth=class_view(dataset.coco, classes, set(ids)), category_ids=category_ids,
                             native_categories=native)


def evaluate_model_folder(model_dir, data_dir, tag: str | None, values: list[str], *, backend_name: str = "torch",
                          threads: int | None = None, batch_size: int = 4, progress: bool = False) -> MetricsRecord:
    """COCO metrics of a model folder on a dataset split, through a backend and the card's pipeline."""
    found = predict_model_folder(model_dir, data_dir, tag, values, backend_name=backend_name, threads=threads,
                                 batch_size=batch_size, progress=progress)
    split = ",".join(values) if tag else "all"
    return coco_metrics(found.ground_truth, found.detections, split=split,
                        step=found.card.training.steps if found.card.training else None)


def record_card_evaluation(model_dir, record: MetricsRecord):
    """Replace (or add) the card's evaluation record for `record.split`; weights are untouched."""
    from gate.cards.card import load_card, save_card

    card = load_card(model_dir)
    # A suite's numbers are replaced by those of its newer version too: a card speaks for the suites shipped now.
    suite = suite_of_split_label(record.split)
    kept = [r for r in card.evaluation if r.split != record.split
            and (suite is None or suite_of_split_label(r.split) != suite)]
    updated = card.model_copy(update={"evaluation": [*kept, record]})
    save_card(type(card).model_validate(updated.model_dump()), model_dir)
    return updated


def suite_of_split_label(split: str) -> str | None:
    """The suite name in a label made by `suite_split_label` (None for a dataset split such as 'test')."""
    match = re.match(r"suite (\S+) v\S+ \(manifest [0-9a-f]+\)$", split)
    return match.group(1) if match else None


def suite_split_label(name: str, version: str, manifest_sha256: str) -> str:
    """How a suite evaluation is named in a card: name, version and the manifest it was measured on."""
    return f"suite {name} v{version} (manifest {manifest_sha256[:12]})"


def evaluate_model_on_suite(model_dir, suite_name: str, *, backend_name: str = "torch", threads: int | None = None,
                            batch_size: int = 4, progress: bool = False, cache=None, suites_dir=None,
                            data=None) -> MetricsRecord:
    """pycocotools COCO metrics of a model folder on a scenario suite, mapped through the suite's taxonomy.

    These are the numbers a model card carries for a suite; `tsrgate run` computes the same AP with the
    gate's own evaluator (gate.eval), and a test holds the two to agree.
    """
    from gate.backends import create_backend
    from gate.cards.card import load_card
    from gate.backends.detections import detections_to_coco_results
    from gate.backends.predict import predict_suite
    from gate.suites import open_suite
    from gate.suites.resolved import category_table

    card = load_card(model_dir)
    suite = open_suite(suite_name, cache=cache, suites=suites_dir, data=data)
    with create_backend(backend_name, model_dir, card=card, threads=threads, max_batch=batch_size * 8) as backend:
        detections = predict_suite(backend, suite, batch_size=batch_size, progress=progress)
    results = detections_to_coco_results(detections, category_table(suite, card.class_names), skip_unmapped=True)
    return coco_metrics_of_results(suite.coco, results, suite_split_label(suite.name, suite.version, suite.manifest_sha256),
                                   step=card.training.steps if card.training else None)
