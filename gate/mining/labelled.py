"""Real errors on the labelled part of a pool, counted by tsrgate's evaluator (gate.eval).

The labels are seen through the model's classes (`card_class_map` + `class_view`, as evaluation
does), the reference backend's detections are matched once with `gate.eval.match`, and per image
the operating-threshold errors are read off the match records: labelled signs not found (IoU 0.5,
same class), detections whose TIDE error is a classification error (overlapping a sign of another
class), and other false positives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gate.backends.detections import Detections
from gate.data.coco import CocoDataset, CocoImage
from gate.eval import match
from gate.eval.records import TIDE_CLS
from gate.mining.pool import PoolLabels
from gate.mining.signals import LabelledErrors
from gate.cards.classes import card_class_map, class_view


@dataclass(frozen=True)
class LabelledImage:
    image_id: int
    width: int
    height: int
    detections: Detections  # the reference backend's, at least the considered ones


def labelled_view(labels: PoolLabels, images: list[LabelledImage], class_names: list[str],
                  recipe_classes: dict | None) -> CocoDataset:
    """The labelled images as the model sees them: categories 1..K = its classes, others dropped."""
    coco = CocoDataset(
        images=[CocoImage(id=i.image_id, file_name=str(i.image_id), width=i.width, height=i.height) for i in images],
        annotations=[a for i in images for a in labels.by_image.get(i.image_id, [])],
        categories=labels.categories,
    )
    classes = card_class_map(class_names, coco, recipe_classes, path=labels.path)
    return class_view(coco, classes)


def labelled_classes(view: CocoDataset) -> dict[int, list[int]]:
    """Model label indices of each image's counted labelled boxes."""
    out: dict[int, list[int]] = {img.id: [] for img in view.images}
    for ann in view.annotations:
        if not ann.iscrowd:
            out[ann.image_id].append(ann.category_id - 1)
    return out


def labelled_errors(view: CocoDataset, images: list[LabelledImage], threshold: float) -> dict[int, LabelledErrors]:
    """Per labelled image: signs missed, class confusions and false positives at `threshold`."""
    if not images:
        return {}
    names = [c.name for c in sorted(view.categories, key=lambda c: c.id)]
    category_ids = list(range(1, len(names) + 1))
    results = [r for i in images for r in i.detections.to_coco_results(category_ids)]
    records = match(view, results)
    position = {int(image_id): k for k, image_id in enumerate(records.image_ids.tolist())}
    counted = ~records.gt_ignore
    missed = counted & ~records.gt_detected(threshold)
    false_positive = records.false_positive_flags(threshold)
    confusion = false_positive & (records.det_tide == TIDE_CLS)
    out = {}
    for item in images:
        k = position[item.image_id]
        on_image = records.det_image == k
        confusions = []
        for d in np.flatnonzero(on_image & confusion).tolist():
            truth = int(records.gt_category[records.det_tide_gt[d]])
            confusions.append((names[truth], names[int(records.det_category[d])]))
        out[item.image_id] = LabelledErrors(
            labelled_signs=int((counted & (records.gt_image == k)).sum()),
            missed=int((missed & (records.gt_image == k)).sum()),
            confusions=confusions,
            false_positives=int((on_image & false_positive & ~confusion).sum()),
        )
    return out
