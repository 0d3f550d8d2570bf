"""Write a COCO dataset (a generated world, or a suite's exact images) in Ultralytics' YOLO layout.

Ultralytics finds an image's labels by replacing `/images/` with `/labels/` in its path, so the
layout is `images/<split>/<file>` (symlinks to the real files: nothing is copied) beside
`labels/<split>/<stem>.txt`, one line `class cx cy w h` per box, normalised by the image size, and a
`data.yaml` naming the splits and the class list. Class index = position of the category's name in
`class_names` (the model card's order), so the YOLO model's labels are the card's labels.

Crowd and ignore annotations are left out: YOLO has no ignore regions. A suite with ignore regions
(e.g. `small`) therefore cannot be scored the same way by Ultralytics' `val`; `ignored_boxes` in the
summary says how many were dropped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from gate.data.coco import CocoDataset
from gate.errors import InputError


@dataclass(frozen=True)
class YoloSplitSummary:
    split: str
    images: int
    boxes: int
    ignored_boxes: int


def yolo_label_line(class_index: int, bbox: Sequence[float], width: int, height: int) -> str:
    """`class cx cy w h` normalised to [0, 1]; boxes are clipped to the image first."""
    x, y, w, h = bbox
    x1, y1 = max(0.0, x), max(0.0, y)
    x2, y2 = min(float(width), x + w), min(float(height), y + h)
    cx, cy = (x1 + x2) / 2 / width, (y1 + y2) / 2 / height
    return f"{class_index} {cx:.6f} {cy:.6f} {(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}"


def write_yolo_split(
    coco: CocoDataset,
    image_paths: Mapping[int, Path],
    out: Path,
    split: str,
    class_names: Sequence[str],
    image_ids: Sequence[int] | None = None,
) -> YoloSplitSummary:
    """Link the images of one split into `out/images/<split>/` and write their label files."""
    index_of = {name: i for i, name in enumerate(class_names)}
    category_index: dict[int, int | None] = {c.id: index_of.get(c.name) for c in coco.categories}
    wanted = set(image_ids) if image_ids is not None else None
    images_dir, labels_dir = out / "images" / split, out / "labels" / split
    images_dir.mkdir(parents=True, exist_ok=True)
    labels_dir.mkdir(parents=True, exist_ok=True)
    by_image = coco.annotations_by_image()
    images = boxes = ignored = 0
    for image in coco.images:
        if wanted is not None and image.id not in wanted:
            continue
        source = Path(image_paths[image.id]).resolve()
        # The image id leads the name, so two sources with one file name cannot collide.
        name = f"{image.id:06d}_{source.name}"
        link = images_dir / name
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink(source, link)
        lines = []
        for ann in by_image.get(image.id, []):
            index = category_index.get(ann.category_id)
            if ann.iscrowd or ann.ignore or index is None:
                ignored += 1
                continue
            lines.append(yolo_label_line(index, ann.bbox, image.width, image.height))
        (labels_dir / f"{Path(name).stem}.txt").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        images += 1
        boxes += len(lines)
    if images == 0:
        raise InputError(f"no images for split {split!r}", path=out)
    return YoloSplitSummary(split=split, images=images, boxes=boxes, ignored_boxes=ignored)


def tile_origins(width: int, height: int, tile: int, stride: int) -> Iterator[tuple[int, int]]:
    """Top-left corners of `tile` x `tile` windows every `stride` px, the last one flush with the far edge."""
    def starts(size: int) -> list[int]:
        if size <= tile:
            return [0]
        found = list(range(0, size - tile + 1, stride))
        return found if found[-1] == size - tile else [*found, size - tile]
    for y in starts(height):
        for x in starts(width):
            yield x, y


def write_yolo_tiles(
    coco: CocoDataset,
    image_paths: Mapping[int, Path],
    out: Path,
    split: str,
    class_names: Sequence[str],
    image_ids: Sequence[int],
    tile: int = 256,
    stride: int = 128,
    min_visible: float = 0.6,
) -> YoloSplitSummary:
    """Native-resolution `tile` px windows of each image that hold at least one sign, as training images.

    Training on windows at the source scale (as tsrgate's own RT-DETR recipes do) costs a quarter of the
    pixels of a 512 px frame while keeping small signs at the size the deployed model sees them. A sign
    cut by the window is labelled when at least `min_visible` of its area is inside (clipped box).
    """
    from PIL import Image

    index_of = {name: i for i, name in enumerate(class_names)}
    category_index = {c.id: index_of.get(c.name) for c in coco.categories}
    images_dir, labels_dir = out / "images" / split, out / "labels" / split
    images_dir.mkdir(parents=True, exist_ok=True)
    labels_dir.mkdir(parents=True, exist_ok=True)
    by_image = coco.annotations_by_image()
    wanted = set(image_ids)
    tiles = boxes = ignored = 0
    for image in coco.images:
        if image.id not in wanted:
            continue
        annotations = [a for a in by_image.get(image.id, []) if not a.iscrowd and not a.ignore
                       and category_index.get(a.category_id) is not None]
        ignored += len(by_image.get(image.id, [])) - len(annotations)
        pixels = None
        for x0, y0 in tile_origins(image.width, image.height, tile, stride):
            lines = []
            for ann in annotations:
                x, y, w, h = ann.bbox
                cx1, cy1 = max(x, x0), max(y, y0)
                cx2, cy2 = min(x + w, x0 + tile), min(y + h, y0 + tile)
                if cx2 <= cx1 or cy2 <= cy1 or (cx2 - cx1) * (cy2 - cy1) < min_visible * w * h:
                    continue
                bbox = (cx1 - x0, cy1 - y0, cx2 - cx1, cy2 - cy1)
                lines.append(yolo_label_line(category_index[ann.category_id], bbox, tile, tile))
            if not lines:
                continue
            if pixels is None:
                pixels = Image.open(image_paths[image.id]).convert("RGB")
            name = f"{image.id:06d}_{x0:03d}_{y0:03d}"
            # Lossless: a re-encoded JPEG would blur the small signs a second time.
            pixels.crop((x0, y0, x0 + tile, y0 + tile)).save(images_dir / f"{name}.png")
            (labels_dir / f"{name}.txt").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
            tiles += 1
            boxes += len(lines)
    if tiles == 0:
        raise InputError(f"no windows with signs for split {split!r}", path=out)
    return YoloSplitSummary(split=split, images=tiles, boxes=boxes, ignored_boxes=ignored)


def write_data_yaml(out: Path, splits: Mapping[str, str], class_names: Sequence[str]) -> Path:
    """Ultralytics' dataset file: `path`, one entry per split (train/val/test -> images/<split>) and `names`."""
    content = {"path": str(out.resolve()), **{key: f"images/{split}" for key, split in splits.items()},
               "names": {i: name for i, name in enumerate(class_names)}}
    path = out / "data.yaml"
    path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return path
