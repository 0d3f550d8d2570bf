"""Tiny datasets built in tmp_path: distinct, smooth random pictures so perceptual hashes differ."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def picture(seed: int, width: int = 96, height: int = 64) -> Image.Image:
    """A smooth random RGB picture (upsampled 6x4 noise): unlike pure noise it has a stable pHash."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(4, 6, 3), dtype=np.uint8)
    return Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)


def save_picture(path: Path, seed: int, width: int = 96, height: int = 64, **save_args) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    picture(seed, width, height).save(path, **save_args)
    return path


def write_dataset(root: Path, images: list[dict], annotations: list[dict], categories: list[dict]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "images").mkdir(exist_ok=True)
    (root / "annotations.json").write_text(
        json.dumps({"images": images, "annotations": annotations, "categories": categories}, indent=1)
    )
    return root


@pytest.fixture()
def clean_dataset(tmp_path: Path) -> Path:
    """Four distinct images (3 JPEG, 1 PNG), three classes, one image without boxes, no problems."""
    root = tmp_path / "ds"
    images = []
    for index, (name, fmt) in enumerate(
        [("a.jpg", "JPEG"), ("b.jpg", "JPEG"), ("sub/c.png", "PNG"), ("d.jpg", "JPEG")], start=1
    ):
        save_picture(root / "images" / name, seed=index, format=fmt)
        images.append({"id": index, "file_name": name, "width": 96, "height": 64})
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 12, 8]},  # longer side 12: <16
        {"id": 2, "image_id": 1, "category_id": 2, "bbox": [40, 20, 20, 16]},  # 20: 16-32
        {"id": 3, "image_id": 2, "category_id": 1, "bbox": [0, 0, 40, 30]},  # 40: 32-96
        {"id": 4, "image_id": 3, "category_id": 2, "bbox": [50, 30, 46, 34]},  # touches the border
        {"id": 5, "image_id": 3, "category_id": 3, "bbox": [5, 5, 10, 10], "iscrowd": 1, "ignore": True},
    ]
    categories = [
        {"id": 1, "name": "stop", "supercategory": "other"},
        {"id": 2, "name": "give_way", "supercategory": "other"},
        {"id": 3, "name": "keep_right", "supercategory": "mandatory"},
    ]
    return write_dataset(root, images, annotations, categories)


def edit_annotations(root: Path, edit) -> None:
    """Load annotations.json, let `edit(dict)` change it in place, write it back."""
    path = root / "annotations.json"
    content = json.loads(path.read_text())
    edit(content)
    path.write_text(json.dumps(content, indent=1))
