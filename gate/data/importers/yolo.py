"""YOLO txt folders: `images/` and `labels/` mirroring each other, plus a class-names file.

A label line is `class cx cy w h`, all but the class normalised to [0, 1] by the image size. An
image without a label file is a background image (kept, no boxes); a label file without an image
is an error. Class names come from `--classes FILE` (a `.txt`/`.names` list or a YAML with
`names`), else from classes.txt, data.yaml or dataset.yaml in the source folder. Category id =
YOLO class index + 1.
"""

from __future__ import annotations

import math
from pathlib import Path

from gate.data.coco import CocoDataset
from gate.data.importers.builder import IMAGE_SUFFIXES, CocoBuilder, at_line, image_size, read_text_file
from gate.data.importers.voc import read_class_names
from gate.errors import InputError
from gate.inputs import parse_yaml

IMAGES_DIR = "images"
LABELS_DIR = "labels"
# labels/classes.txt is where labelImg writes it.
CLASS_FILE_CANDIDATES = ("classes.txt", "data.yaml", "dataset.yaml", "labels/classes.txt")
# Exporters round normalised coordinates; a box may overshoot the image by this much and is clipped.
NORMALISED_SLACK = 0.01


def read_yaml_names(path: Path) -> list[str]:
    """Class names from a YOLO data YAML: `names` as a list or as a {index: name} mapping."""
    content = parse_yaml(read_text_file(path), path)
    names = content.get("names") if isinstance(content, dict) else None
    if isinstance(names, dict):
        if not all(type(k) is int for k in names):
            raise InputError("'names' mapping must have keys 0..N-1", path=path)
        keys = sorted(names)
        if keys != list(range(len(keys))):
            raise InputError("'names' mapping must have keys 0..N-1", path=path)
        names = [names[k] for k in keys]
    if not isinstance(names, list) or not names or not all(isinstance(n, str | int) for n in names):
        raise InputError("expected 'names': a non-empty list of class names", path=path)
    names = [str(n) for n in names]
    if len(set(names)) != len(names):
        raise InputError("'names' lists a class twice", path=path)
    return names


def read_names(path: Path) -> list[str]:
    if not path.is_file():
        raise InputError("class-names file not found", path=path)
    if path.suffix.lower() in (".yaml", ".yml"):
        return read_yaml_names(path)
    return read_class_names(path)


def find_names_file(src: Path, classes_file: Path | None) -> Path:
    if classes_file is not None:
        return classes_file
    for name in CLASS_FILE_CANDIDATES:
        if (src / name).is_file():
            return src / name
    raise InputError(
        f"no class-names file ({', '.join(CLASS_FILE_CANDIDATES)}); name one with --classes", path=src
    )


def _images_by_stem(images_dir: Path) -> dict[Path, Path]:
    """Relative path without suffix -> image file; two images sharing a stem are ambiguous."""
    found: dict[Path, Path] = {}
    for path in sorted(images_dir.rglob("*")):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            key = path.relative_to(images_dir).with_suffix("")
            if key in found:
                raise InputError(f"two images share the name {key} ({found[key].name}, {path.name})", path=path)
            found[key] = path
    return found


def parse_label_file(path: Path, class_count: int) -> list[tuple[int, float, float, float, float, int]]:
    """(class, cx, cy, w, h, line) rows of one label file, validated."""
    rows = []
    for number, raw in enumerate(read_text_file(path).splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        where = at_line(path, number)
        fields = line.split()
        if len(fields) != 5:
            raise InputError(f"expected 5 fields (class cx cy w h), got {len(fields)}", path=where)
        try:
            cls = int(fields[0])
        except ValueError:
            raise InputError(f"class must be an integer, got {fields[0]!r}", path=where) from None
        if not 0 <= cls < class_count:
            raise InputError(f"class {cls} out of range: the class-names file lists {class_count}", path=where)
        try:
            cx, cy, w, h = (float(v) for v in fields[1:])
        except ValueError:
            raise InputError(f"cx cy w h must be numbers, got {' '.join(fields[1:])!r}", path=where) from None
        if not all(math.isfinite(v) for v in (cx, cy, w, h)):
            raise InputError(f"cx cy w h must be finite numbers, got {' '.join(fields[1:])!r}", path=where)
        if not w > 0 or not h > 0:
            raise InputError(f"box has zero or negative size (w={w} h={h})", path=where)
        low, high = -NORMALISED_SLACK, 1 + NORMALISED_SLACK
        if cx - w / 2 < low or cy - h / 2 < low or cx + w / 2 > high or cy + h / 2 > high:
            raise InputError("box lies outside the image (normalised coordinates must stay within [0, 1])", path=where)
        rows.append((cls, cx, cy, w, h, number))
    return rows


def convert(src: Path, builder: CocoBuilder, classes_file: Path | None = None) -> CocoDataset:
    """Import a YOLO folder (images/ + labels/ + class names)."""
    images_dir, labels_dir = src / IMAGES_DIR, src / LABELS_DIR
    if not images_dir.is_dir():
        raise InputError(f"no {IMAGES_DIR}/ folder (expected YOLO layout: {IMAGES_DIR}/, {LABELS_DIR}/)", path=src)
    names = read_names(find_names_file(src, classes_file))
    for name in names:
        builder.add_category(name)
    images = _images_by_stem(images_dir)
    if not images:
        raise InputError("no image files", path=images_dir)
    label_files = sorted(labels_dir.rglob("*.txt")) if labels_dir.is_dir() else []
    label_files = [p for p in label_files if p != labels_dir / "classes.txt"]
    labels: dict[Path, Path] = {}
    for path in label_files:
        key = path.relative_to(labels_dir).with_suffix("")
        if key not in images:
            raise InputError(f"no image for this label file (looked for {IMAGES_DIR}/{key}.*)", path=path)
        labels[key] = path

    for key, image_path in images.items():
        width, height = image_size(image_path)
        rel = image_path.relative_to(images_dir).as_posix()
        image_id = builder.copy_image(rel, image_path, width, height, where=str(image_path))
        if key not in labels:
            continue
        for cls, cx, cy, w, h, _line in parse_label_file(labels[key], len(names)):
            x0, y0 = max(cx - w / 2, 0.0) * width, max(cy - h / 2, 0.0) * height
            x1, y1 = min(cx + w / 2, 1.0) * width, min(cy + h / 2, 1.0) * height
            builder.add_annotation(image_id, cls + 1, (x0, y0, x1 - x0, y1 - y0))
    return builder.build(
        info={
            "description": "imported from a YOLO txt folder",
            "source_format": "yolo",
            "box_convention": "bbox = [(cx - w/2) * W, (cy - h/2) * H, w * W, h * H]; category id = class + 1",
        }
    )
