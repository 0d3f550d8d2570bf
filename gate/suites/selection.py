"""Which images and which boxes a suite is about.

Images are chosen by tag conditions (`CocoImage.tag`, so extra top-level fields such as GTSDB's
`gtsdb_split` work as tags); boxes by size, class, rarity and occlusion. A box that fails the box
criteria but sits in a kept image becomes an ignore region: it must neither count as a miss nor
punish a detection on it. Boxes the source already marks as crowd/ignore stay ignore regions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from gate.data.coco import CocoAnnotation, CocoDataset, CocoImage
from gate.errors import InputError
from gate.storage import sha256_bytes
from gate.suites.spec import RareSelection, Selection, TagCondition


@dataclass(frozen=True)
class BoxChoice:
    """One source box and whether the selection scores it (False: it becomes an ignore region)."""

    annotation: CocoAnnotation
    selected: bool


@dataclass(frozen=True)
class CandidateImage:
    """An image that passed the tag conditions, with every box's verdict."""

    image: CocoImage
    boxes: list[BoxChoice]


@dataclass(frozen=True)
class SelectionOutcome:
    candidates: list[CandidateImage]
    classes: list[int] | None  # class ids named by `classes`, None when not restricted
    rare_classes: list[int] | None  # class ids chosen by `rare`, None when not used
    rare_counts: dict[int, int]  # reference instance counts behind the rare choice


def _allowed(condition: TagCondition) -> set[str]:
    values = condition if isinstance(condition, list) else [condition]
    return {str(v).lower() if isinstance(v, bool) else str(v) for v in values}


def _value_text(value) -> str | None:
    if value is None:
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


def matches_tags(image: CocoImage, conditions: dict[str, TagCondition]) -> bool:
    """Whether the image's tag (or top-level field) equals one allowed value for every condition."""
    return all(_value_text(image.tag(key)) in _allowed(cond) for key, cond in conditions.items())


def is_source_ignore(ann: CocoAnnotation) -> bool:
    return bool(ann.iscrowd) or ann.ignore


def resolve_classes(names: list[str | int], coco: CocoDataset, spec_path: str | Path) -> list[int]:
    """Class names or ids -> ids; an unknown one is an InputError naming the spec."""
    by_name = {c.name: c.id for c in coco.categories}
    ids = {c.id for c in coco.categories}
    resolved = []
    for name in names:
        if isinstance(name, int) and not isinstance(name, bool):
            if name not in ids:
                raise InputError(f"selection.classes: no class with id {name} in the source dataset", path=spec_path)
            resolved.append(name)
        elif name in by_name:
            resolved.append(by_name[name])
        else:
            raise InputError(f"selection.classes: unknown class '{name}' (not in the source dataset)", path=spec_path)
    return sorted(set(resolved))


def rare_classes(rare: RareSelection, coco: CocoDataset, pool: list[CandidateImage],
                 spec_path: str | Path) -> tuple[list[int], dict[int, int]]:
    """The rare classes: counted on the reference subset, chosen among classes present in `pool`."""
    reference_ids = {img.id for img in coco.images if matches_tags(img, rare.counted_on)}
    if not reference_ids:
        raise InputError(f"selection.rare.counted_on {rare.counted_on} matches no image", path=spec_path)
    counts = Counter(a.category_id for a in coco.annotations
                     if a.image_id in reference_ids and not is_source_ignore(a))
    present = sorted({b.annotation.category_id for c in pool for b in c.boxes if not is_source_ignore(b.annotation)})
    if rare.fewest is not None:
        chosen = sorted(present, key=lambda cid: (counts.get(cid, 0), cid))[: rare.fewest]
    else:
        chosen = [cid for cid in present if counts.get(cid, 0) < rare.below]
    if not chosen:
        raise InputError(f"selection.rare: no class has fewer than {rare.below} reference instances", path=spec_path)
    return sorted(chosen), {cid: counts.get(cid, 0) for cid in sorted(chosen)}


def select_candidates(selection: Selection, coco: CocoDataset, spec_path: str | Path) -> SelectionOutcome:
    """Apply the tag conditions and the box criteria (the keep/drop decision comes after the taxonomy)."""
    conditions = selection.image_conditions()
    images = [img for img in coco.images if matches_tags(img, conditions)]
    if not images:
        seen = {key: sorted({_value_text(img.tag(key)) or "<missing>" for img in coco.images})[:8]
                for key in conditions}
        raise InputError(f"selection matches no image: {conditions} (values present: {seen})", path=spec_path)
    by_image = coco.annotations_by_image()
    pool = [CandidateImage(img, [BoxChoice(a, True) for a in by_image.get(img.id, [])]) for img in images]

    classes = resolve_classes(selection.classes, coco, spec_path) if selection.classes is not None else None
    rare, rare_counts = (rare_classes(selection.rare, coco, pool, spec_path)
                         if selection.rare is not None else (None, {}))

    def accepts(ann: CocoAnnotation) -> bool:
        if is_source_ignore(ann):
            return False
        if selection.size is not None:
            side = ann.longer_side
            if side < selection.size.min or (selection.size.max is not None and side >= selection.size.max):
                return False
        if classes is not None and ann.category_id not in classes:
            return False
        if rare is not None and ann.category_id not in rare:
            return False
        if selection.min_occluded is not None:
            occluded = ann.attributes.get("occluded", 0.0)
            if not isinstance(occluded, int | float) or occluded < selection.min_occluded:
                return False
        return True

    candidates = [CandidateImage(c.image, [BoxChoice(b.annotation, accepts(b.annotation)) for b in c.boxes])
                  for c in pool]
    return SelectionOutcome(candidates, classes, rare, rare_counts)


def sampling_key(seed: int, image_id: int) -> str:
    """The stable order in which `max_images` takes images: a hash of the suite seed and the id."""
    return sha256_bytes(f"{seed}:{image_id}".encode())


def sample_ids(image_ids: list[int], seed: int, max_images: int | None) -> list[int]:
    """At most `max_images` ids, chosen by seeded hash order, returned sorted by id."""
    if max_images is None or len(image_ids) <= max_images:
        return sorted(image_ids)
    return sorted(sorted(image_ids, key=lambda i: sampling_key(seed, i))[:max_images])
