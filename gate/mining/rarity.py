"""How rare each of the model's classes was in its training data.

The counts are the training split's boxes per class, taken from (in order):
1. a training dataset named by the caller (`--training-data`);
2. the dataset the model card records (`training.data.dataset_path`), if it is still there and its
   annotations hash equals the recorded one (a changed dataset would give someone else's counts);
3. for a model trained on the generated world, the world re-planned from the seed the card
   records: `plan_scene` decides every sign's class before any pixel is painted (about 5 ms an
   image) and the written annotations hold exactly the planned signs, so the counts are the
   training data's own, without the images.
Otherwise the rare-class signal is unavailable and the result says why.

Rarity of a class = clip(1 - boxes / median boxes per class, 0, 1): classes at or above the median
count are not rare at all, a class with a quarter of the median has rarity 0.75, an unseen class 1.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from gate.data.coco import CocoDataset
from gate.data.dataset import ANNOTATIONS_FILE, DetectionDataset
from gate.errors import GateError
from gate.mining.results import ClassRarity, RarityTable
from gate.cards.card import ModelCard, SplitSelector
from gate.cards.classes import card_class_map, select_images
from gate.storage import sha256_file


def rarity_from_counts(class_names: list[str], counts: dict[str, int], source: str) -> RarityTable:
    """The rarity table of a model's classes given training boxes per class name."""
    values = np.array([counts.get(name, 0) for name in class_names], dtype=np.float64)
    median = float(np.median(values)) if values.size else 0.0
    classes = []
    for name, count in zip(class_names, values.tolist(), strict=True):
        rarity = 1.0 if count == 0 else (max(0.0, 1.0 - count / median) if median > 0 else 0.0)
        classes.append(ClassRarity(class_name=name, training_boxes=int(count), rarity=round(rarity, 6)))
    return RarityTable(available=True, source=source, median_boxes=median, classes=classes)


def _recipe_classes(card: ModelCard) -> dict | None:
    return card.training.recipe.content.get("classes") if card.training is not None else None


def counts_from_dataset(card: ModelCard, dataset: DetectionDataset, split: SplitSelector | None) -> dict[str, int]:
    """Boxes per model class in the dataset's training split (all images when no split is given)."""
    coco = dataset.coco
    classes = card_class_map(card.class_names, coco, _recipe_classes(card), path=dataset.annotations_path)
    selected = set(select_images(coco, split.tag if split else None, split.values if split else []))
    counts: Counter[str] = Counter()
    for ann in coco.annotations:
        label = classes.label_of(ann.category_id)
        if ann.image_id in selected and label is not None and not ann.ignore and not ann.iscrowd:
            counts[card.class_names[label]] += 1
    return dict(counts)


def counts_from_generated_world(card: ModelCard) -> dict[str, int] | None:
    """Training boxes per class of a model trained on the generated world, re-planned from its seed."""
    from gate.data.synth import GENERATOR, WORLD_VERSION, plan_scene, synth_categories
    from gate.data.synth.world import DEFAULT_HEIGHT, DEFAULT_WIDTH

    if card.training is None:
        return None
    data = card.training.data
    info = data.dataset_info
    if info.get("generator") != GENERATOR or str(info.get("world_version")) != WORLD_VERSION:
        return None
    try:
        seed, images = int(info["seed"]), int(info["images"])
        width, height = int(info.get("width", DEFAULT_WIDTH)), int(info.get("height", DEFAULT_HEIGHT))
    except (KeyError, TypeError, ValueError):
        return None
    categories = CocoDataset(images=[], annotations=[], categories=synth_categories())
    classes = card_class_map(card.class_names, categories, _recipe_classes(card))
    split = data.train_split
    wanted = {str(v) for v in split.values}
    counts: Counter[str] = Counter()
    for index in range(images):
        plan = plan_scene(seed, index, width, height)
        if split.tag is not None and str(plan.tags.get(split.tag)) not in wanted:
            continue
        for placement in plan.placements:
            label = classes.label_of(placement.class_index + 1)
            if label is not None:
                counts[card.class_names[label]] += 1
    return dict(counts)


def training_rarity(card: ModelCard, training_data: str | Path | None = None) -> RarityTable:
    """The rarity table of the model's classes, or an unavailable table saying why."""
    split = card.training.data.train_split if card.training is not None else None
    if training_data is not None:
        dataset = DetectionDataset.load(training_data)
        return rarity_from_counts(card.class_names, counts_from_dataset(card, dataset, split),
                                  f"training dataset {training_data} (given), split {_split_text(split)}")
    if card.training is None:
        return RarityTable(available=False, source="the model card has no training record (an ingested model); "
                                                   "pass --training-data")
    data = card.training.data
    recorded = Path(data.dataset_path)
    problem = f"the training dataset {recorded} is not on this machine"
    if (recorded / ANNOTATIONS_FILE).is_file():
        if sha256_file(recorded / ANNOTATIONS_FILE) == data.annotations_sha256:
            try:
                counts = counts_from_dataset(card, DetectionDataset.load(recorded), split)
            except GateError as exc:
                problem = f"the training dataset {recorded} cannot be read ({exc.problem})"
            else:
                return rarity_from_counts(card.class_names, counts,
                                          f"training dataset {recorded}, split {_split_text(split)}")
        else:
            problem = f"the training dataset at {recorded} changed since training (annotations sha256 differs)"
    planned = counts_from_generated_world(card)
    if planned is not None:
        info = data.dataset_info
        return rarity_from_counts(card.class_names, planned,
                                  f"generated world re-planned (seed {info['seed']}, {info['images']} images, "
                                  f"version {info['world_version']}), split {_split_text(split)}")
    return RarityTable(available=False, source=f"{problem}; pass --training-data")


def _split_text(split: SplitSelector | None) -> str:
    return "all images" if split is None else split.describe()
