"""A tiny generated detection dataset (coloured shapes on a noisy background) for model tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from gate.data.coco import CocoAnnotation, CocoCategory, CocoDataset, CocoImage, save_coco

SHAPE_CLASSES = ("red_disc", "blue_square", "yellow_triangle")


def _draw(draw: ImageDraw.ImageDraw, label: int, box: tuple[float, float, float, float]) -> None:
    x1, y1, x2, y2 = box
    if label == 0:
        draw.ellipse(box, fill=(220, 30, 30), outline=(255, 255, 255))
    elif label == 1:
        draw.rectangle(box, fill=(30, 60, 220), outline=(255, 255, 255))
    else:
        draw.polygon([((x1 + x2) / 2, y1), (x2, y2), (x1, y2)], fill=(240, 210, 20))


def make_shapes_dataset(root: Path, images: int = 12, size: tuple[int, int] = (128, 160), seed: int = 0,
                        val_every: int = 4) -> Path:
    """Write `root/images/*.png` + `root/annotations.json`; every `val_every`-th image is split=val."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    height, width = size
    coco_images, annotations = [], []
    for index in range(images):
        background = rng.integers(60, 140, size=(height, width, 3), dtype=np.uint8)
        canvas = Image.fromarray(background)
        draw = ImageDraw.Draw(canvas)
        for _ in range(int(rng.integers(1, 4))):
            side = float(rng.uniform(14, 40))
            x1 = float(rng.uniform(0, width - side))
            y1 = float(rng.uniform(0, height - side))
            label = int(rng.integers(len(SHAPE_CLASSES)))
            _draw(draw, label, (x1, y1, x1 + side, y1 + side))
            annotations.append(CocoAnnotation(id=len(annotations) + 1, image_id=index + 1, category_id=label + 1,
                                              bbox=[x1, y1, side, side], area=side * side))
        name = f"shape_{index:03d}.png"
        canvas.save(root / "images" / name)
        split = "val" if index % val_every == val_every - 1 else "train"
        coco_images.append(CocoImage(id=index + 1, file_name=name, width=width, height=height, tags={"split": split}))
    categories = [CocoCategory(id=i + 1, name=n, supercategory="shape") for i, n in enumerate(SHAPE_CLASSES)]
    save_coco(CocoDataset(images=coco_images, annotations=annotations, categories=categories),
              root / "annotations.json")
    return root
