"""A tiny tagged dataset (made on the fly), spec writing, and suites/cache roots inside tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image, ImageDraw

WIDTH, HEIGHT = 160, 100
CATEGORIES = [
    {"id": 1, "name": "speed_limit_30", "supercategory": "prohibitory"},
    {"id": 2, "name": "speed_limit_50", "supercategory": "prohibitory"},
    {"id": 3, "name": "danger", "supercategory": "danger"},
    {"id": 4, "name": "keep_right", "supercategory": "mandatory"},
    {"id": 5, "name": "stop", "supercategory": "other"},
    {"id": 6, "name": "traffic_light", "supercategory": "other"},
]
# (tags, extra top-level split field, boxes as (category, x, y, w, h, occluded, iscrowd))
IMAGES = [
    ({"time": "day", "weather": "clear", "region": "eu", "split": "train"}, "train",
     [(1, 20, 30, 20, 20, 0.0, 0), (3, 100, 20, 10, 10, 0.0, 0)]),
    ({"time": "day", "weather": "rain", "region": "eu", "split": "train"}, "train",
     [(1, 30, 25, 24, 24, 0.4, 0), (2, 90, 30, 12, 12, 0.0, 0)]),
    ({"time": "night", "weather": "clear", "region": "eu", "split": "train"}, "train",
     [(1, 60, 20, 30, 30, 0.0, 0), (4, 120, 40, 14, 14, 0.0, 0)]),
    ({"time": "day", "weather": "fog", "region": "us", "split": "train"}, "train",
     [(1, 10, 10, 18, 18, 0.0, 0), (6, 130, 10, 8, 20, 0.0, 0)]),
    ({"time": "day", "weather": "clear", "region": "eu", "split": "test"}, "test",
     [(1, 20, 20, 22, 22, 0.0, 0), (5, 110, 30, 9, 9, 0.6, 0), (2, 70, 50, 40, 30, 0.0, 1)]),
    ({"time": "night", "weather": "rain", "region": "eu", "split": "test"}, "test",
     [(2, 40, 30, 26, 26, 0.0, 0), (3, 100, 20, 12, 12, 0.2, 0)]),
    ({"time": "day", "weather": "clear", "region": "us", "split": "test"}, "test",
     [(4, 30, 40, 16, 16, 0.0, 0), (6, 120, 15, 7, 18, 0.0, 0)]),
    ({"time": "dusk", "weather": "clear", "region": "eu", "split": "test"}, "test", []),
    ({"time": "day", "weather": "overcast", "region": "eu", "split": "test"}, "test",
     [(5, 50, 30, 36, 36, 0.0, 0), (1, 120, 50, 10, 10, 0.0, 0)]),
    ({"time": "day", "weather": "clear", "region": "eu", "split": "val"}, "val",
     [(3, 60, 30, 20, 20, 0.0, 0)]),
]
SIGN_COLOURS = {1: (220, 30, 30), 2: (200, 40, 60), 3: (240, 200, 40), 4: (30, 60, 200), 5: (180, 20, 20),
                6: (40, 40, 40)}


def scene_pixels(seed: int) -> np.ndarray:
    """A road-like test picture: sky gradient, darker ground, texture, a few bright spots."""
    rng = np.random.default_rng(seed)
    rows = np.linspace(0, 1, HEIGHT)[:, None, None]
    sky = np.array([150, 180, 230]) * (1 - rows) + np.array([110, 110, 100]) * rows
    pixels = np.broadcast_to(sky, (HEIGHT, WIDTH, 3)).copy()
    pixels[HEIGHT // 2:] = pixels[HEIGHT // 2:] * 0.6
    pixels += rng.normal(0, 8, pixels.shape)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def make_tiny_dataset(root: Path) -> Path:
    """Write the tiny dataset folder (images/ + annotations.json) and return it."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    next_ann = 1
    for index, (tags, split_field, boxes) in enumerate(IMAGES):
        image_id = index + 1
        img = Image.fromarray(scene_pixels(image_id))
        draw = ImageDraw.Draw(img)
        for category, x, y, w, h, occluded, crowd in boxes:
            draw.ellipse([x, y, x + w - 1, y + h - 1], fill=SIGN_COLOURS[category], outline=(255, 255, 255))
            annotations.append({"id": next_ann, "image_id": image_id, "category_id": category,
                                "bbox": [float(x), float(y), float(w), float(h)], "area": float(w * h),
                                "iscrowd": crowd, "attributes": {"occluded": occluded, "truncated": 0.0}})
            next_ann += 1
        name = f"tiny_{image_id:03d}.png"
        img.save(root / "images" / name)
        images.append({"id": image_id, "file_name": name, "width": WIDTH, "height": HEIGHT, "tags": tags,
                       "custom_split": split_field})
    (root / "annotations.json").write_text(json.dumps(
        {"images": images, "annotations": annotations, "categories": CATEGORIES}, indent=1))
    return root


@pytest.fixture()
def tiny_dataset(tmp_path: Path) -> Path:
    return make_tiny_dataset(tmp_path / "tiny")


@pytest.fixture(autouse=True)
def roots(tmp_path: Path, monkeypatch) -> dict[str, Path]:
    """Suites root and cache inside tmp_path, set in the environment for every test here, so no test
    can write into the repository's suites/ or the user's cache."""
    suites = tmp_path / "suites"
    cache = tmp_path / "cache"
    monkeypatch.setenv("TSRGATE_SUITES", str(suites))
    monkeypatch.setenv("TSRGATE_CACHE", str(cache))
    return {"suites": suites, "cache": cache}


def spec_dict(dataset: Path, **overrides) -> dict:
    spec = {
        "name": "tiny-night",
        "version": 1,
        "description": "tiny test suite",
        "seed": 3,
        "source": {"dataset": str(dataset)},
        "selection": {"split": "test"},
        "transforms": [{"name": "night", "severity": 3}],
    }
    spec.update(overrides)
    return spec


def write_spec(path: Path, spec: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture()
def make_spec(tmp_path: Path, tiny_dataset: Path):
    """make_spec(**overrides) -> path of a spec YAML over the tiny dataset."""
    counter = {"n": 0}

    def _make(**overrides) -> Path:
        counter["n"] += 1
        return write_spec(tmp_path / "specs" / f"spec{counter['n']}.yaml", spec_dict(tiny_dataset, **overrides))

    return _make
