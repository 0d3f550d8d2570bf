"""COCO passthrough: validate a COCO file and copy it with its images into the tsrgate layout.

SRC is either a folder holding `annotations.json` (images under its `images/`, else beside it) or
a COCO JSON file (images beside it, or under `images/` there); `--images DIR` names the image root
explicitly. `file_name` may contain subfolders, which are kept. Ids, extra fields, tags and
attributes pass through unchanged; only the structure is checked here (ids unique, every
annotation pointing to a known image and category, every image file present). Curation problems
such as boxes outside the image are left to `tsrgate data check`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from gate.data.coco import CocoDataset, load_coco
from gate.data.dataset import ANNOTATIONS_FILE, IMAGES_DIR
from gate.data.importers.builder import CocoBuilder, safe_relative_name
from gate.errors import InputError


def locate(src: Path, images_dir: Path | None) -> tuple[Path, Path]:
    """(annotations file, image root) for a COCO source."""
    if src.is_dir():
        annotations = src / ANNOTATIONS_FILE
        if not annotations.is_file():
            raise InputError(f"no {ANNOTATIONS_FILE}; pass the COCO JSON file itself as SRC", path=src)
    elif src.is_file():
        annotations = src
    else:
        raise InputError("no such file or folder", path=src)
    if images_dir is None:
        base = annotations.parent
        images_dir = base / IMAGES_DIR if (base / IMAGES_DIR).is_dir() else base
    elif not images_dir.is_dir():
        raise InputError("images folder not found", path=images_dir)
    return annotations, images_dir


def _first_duplicate(values: list[int]) -> int | None:
    repeated = [value for value, count in Counter(values).items() if count > 1]
    return min(repeated) if repeated else None


def validate_structure(dataset: CocoDataset, path: Path) -> None:
    """Unique ids and resolvable references; the first violation is an `InputError` naming the entry."""
    tables = (("images", dataset.images), ("annotations", dataset.annotations), ("categories", dataset.categories))
    for key, items in tables:
        duplicate = _first_duplicate([item.id for item in items])
        if duplicate is not None:
            raise InputError(f"{key}: id {duplicate} is used more than once", path=path)
    image_ids = {image.id for image in dataset.images}
    category_ids = {category.id for category in dataset.categories}
    for index, ann in enumerate(dataset.annotations):
        if ann.image_id not in image_ids:
            raise InputError(f"annotations[{index}] (id {ann.id}): unknown image id {ann.image_id}", path=path)
        if ann.category_id not in category_ids:
            raise InputError(f"annotations[{index}] (id {ann.id}): unknown category id {ann.category_id}", path=path)


def convert(src: Path, builder: CocoBuilder, images_dir: Path | None = None) -> CocoDataset:
    """Copy a COCO dataset unchanged into the tsrgate layout after validating its structure."""
    annotations, image_root = locate(src, images_dir)
    dataset = load_coco(annotations)
    validate_structure(dataset, annotations)
    for index, image in enumerate(dataset.images):
        where = f"{annotations}: images[{index}] (id {image.id})"
        name = safe_relative_name(image.file_name, where)
        source = image_root / name
        if not source.is_file():
            raise InputError(f"images[{index}] (id {image.id}): image file {source} not found", path=annotations)
        builder.copy_file(name, source, where)
        image.file_name = name
    return dataset
