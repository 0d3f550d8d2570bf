"""Which classes a detector learns from a dataset, and the dataset seen through those classes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gate.data.coco import CocoAnnotation, CocoCategory, CocoDataset
from gate.errors import InputError
from gate.cards.recipe import ClassesSection


@dataclass(frozen=True)
class ClassMap:
    """Class names (label index order) and the dataset category ids each label covers."""

    class_names: list[str]
    source: str
    category_to_label: dict[int, int]  # categories absent here are not learned

    def label_of(self, category_id: int) -> int | None:
        return self.category_to_label.get(category_id)


def resolve_classes(coco: CocoDataset, section: ClassesSection, path: str | Path | None = None) -> ClassMap:
    """Map the dataset's categories onto the recipe's classes; a mismatch is one InputError."""
    categories = sorted(coco.categories, key=lambda c: c.id)
    if not categories:
        raise InputError("dataset has no categories", path=path)
    by_name = {c.name: c for c in categories}
    if section.source == "categories":
        names = [c.name for c in categories]
        if section.names is not None and section.names != names:
            missing = sorted(set(section.names) - set(names)) or sorted(set(names) - set(section.names))
            raise InputError(
                f"dataset categories do not match the recipe's classes (first difference: {missing[:3] or 'order'})",
                path=path,
            )
        return ClassMap(names, "categories", {c.id: i for i, c in enumerate(categories)})
    if section.source == "supercategory":
        names = list(section.names or [])
        index = {name: i for i, name in enumerate(names)}
        unknown = sorted({c.supercategory for c in categories} - set(index))
        if unknown:
            raise InputError(
                f"dataset supercategories {unknown[:3]} are not among the recipe's classes {names}", path=path
            )
        return ClassMap(names, "supercategory", {c.id: index[c.supercategory] for c in categories})
    names = list(section.mapping or {})
    mapping: dict[int, int] = {}
    for label, (name, members) in enumerate((section.mapping or {}).items()):
        for member in members:
            if member not in by_name:
                raise InputError(f"recipe class {name!r} lists category {member!r}, which the dataset lacks", path=path)
            if by_name[member].id in mapping:
                raise InputError(f"category {member!r} is mapped to two classes", path=path)
            mapping[by_name[member].id] = label
    return ClassMap(names, "mapping", mapping)


def class_view(coco: CocoDataset, classes: ClassMap, image_ids: set[int] | None = None) -> CocoDataset:
    """The dataset as the detector sees it: categories = its classes (ids 1..K), other boxes dropped.

    Ignore regions (`ignore` flag) become `iscrowd` boxes, the form pycocotools honours.
    """
    images = [img for img in coco.images if image_ids is None or img.id in image_ids]
    kept = {img.id for img in images}
    annotations = []
    for ann in coco.annotations:
        label = classes.label_of(ann.category_id)
        if ann.image_id not in kept or label is None:
            continue
        area = ann.area if ann.area is not None else ann.bbox[2] * ann.bbox[3]
        iscrowd = 1 if (ann.ignore or ann.iscrowd) else 0
        annotations.append(
            CocoAnnotation(id=ann.id, image_id=ann.image_id, category_id=label + 1, bbox=list(ann.bbox),
                           area=area, iscrowd=iscrowd)
        )
    categories = [CocoCategory(id=i + 1, name=name, supercategory="") for i, name in enumerate(classes.class_names)]
    return CocoDataset(info=dict(coco.info), images=images, annotations=annotations, categories=categories)


def select_images(coco: CocoDataset, tag: str | None, values: list[str]) -> list[int]:
    """Ids (sorted) of images whose tag or top-level field `tag` is one of `values`; all when tag is None."""
    if tag is None:
        return sorted(img.id for img in coco.images)
    wanted = {str(v) for v in values}
    return sorted(img.id for img in coco.images if str(img.tag(tag)) in wanted)


def card_class_map(class_names: list[str], coco: CocoDataset, recipe_classes: dict | None = None,
                   path: str | Path | None = None) -> ClassMap:
    """How a model's classes (card order) cover a dataset's categories.

    Tried in order: the dataset's category names (any subset, any order), its supercategories,
    then the class mapping recorded in the model's training recipe.
    """
    by_name = {c.name: c for c in coco.categories}
    if all(name in by_name for name in class_names):
        return ClassMap(list(class_names), "categories", {by_name[n].id: i for i, n in enumerate(class_names)})
    supers = {c.supercategory for c in coco.categories}
    if supers and supers <= set(class_names):
        return resolve_classes(coco, ClassesSection(source="supercategory", names=list(class_names)), path)
    if recipe_classes and recipe_classes.get("source") == "mapping" and list(recipe_classes["mapping"]) == class_names:
        return resolve_classes(coco, ClassesSection(source="mapping", mapping=recipe_classes["mapping"]), path)
    unknown = [n for n in class_names if n not in by_name]
    raise InputError(f"the model's classes {unknown[:3]} are neither categories nor supercategories of the dataset",
                     path=path)


def results_category_ids(classes: ClassMap, coco: CocoDataset) -> tuple[list[int], bool]:
    """Category id per label for COCO results, and whether they are the dataset's own ids.

    A model trained on supercategories (or a mapping) writes ids 1..K of its class view instead,
    since no single dataset category stands for a merged class.
    """
    if classes.source == "categories":
        ids = [0] * len(classes.class_names)
        for category_id, label in classes.category_to_label.items():
            ids[label] = category_id
        return ids, True
    return [i + 1 for i in range(len(classes.class_names))], False
