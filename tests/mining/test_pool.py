"""Finding a pool's images and attaching labels to them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from gate.errors import InputError
from gate.mining.pool import open_pool


def _png(path, value=100):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(path)


def _coco(path, names, boxes_per_image=1):
    images = [{"id": 100 + i, "file_name": n, "width": 8, "height": 8} for i, n in enumerate(names)]
    annotations = [{"id": k + 1, "image_id": img["id"], "category_id": 1, "bbox": [1, 1, 3, 3]}
                   for k, img in enumerate(images) for _ in range(boxes_per_image)]
    path.write_text(json.dumps({"images": images, "annotations": annotations,
                                "categories": [{"id": 1, "name": "stop"}]}))
    return path


def test_folder_pool_is_searched_recursively_in_path_order(tmp_path):
    for name in ("b.png", "a/c.JPG", "a/b/d.ppm", "e.jpeg", ".hidden/x.png"):
        _png(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "f.gif").write_bytes(b"GIF89a")  # not a suffix the pool reads
    pool = open_pool(tmp_path)
    assert pool.kind == "folder"
    assert [(i.image_id, i.file) for i in pool.images] == [(1, "a/b/d.ppm"), (2, "a/c.JPG"), (3, "b.png"),
                                                          (4, "e.jpeg")]
    assert pool.labels is None


def test_dataset_pool_keeps_ids_tags_and_its_labels(shapes_pool):
    pool = open_pool(shapes_pool)
    assert pool.kind == "dataset"
    coco = json.loads((shapes_pool / "annotations.json").read_text())
    assert [i.image_id for i in pool.images] == [img["id"] for img in coco["images"]]
    assert pool.labels is not None and len(pool.labels.by_image) == len(coco["images"])
    assert sum(len(v) for v in pool.labels.by_image.values()) == len(coco["annotations"])


def test_labels_attach_by_relative_path_then_unique_bare_name(tmp_path):
    _png(tmp_path / "pool" / "x" / "one.png")
    _png(tmp_path / "pool" / "two.png")
    _png(tmp_path / "pool" / "y" / "dup.png")
    _png(tmp_path / "pool" / "z" / "dup.png")
    labels = _coco(tmp_path / "labels.json", ["x/one.png", "elsewhere/two.png", "dup.png", "absent.png"])
    pool = open_pool(tmp_path / "pool", labels)
    by_file = {i.file: i.image_id for i in pool.images}
    assert set(pool.labels.by_image) == {by_file["x/one.png"], by_file["two.png"]}  # dup.png is ambiguous
    assert all(a.image_id == image_id for image_id, anns in pool.labels.by_image.items() for a in anns)
    assert pool.notes == ["2 of 4 pool images have no labels"]


def test_labels_that_name_no_pool_image_are_an_error(tmp_path):
    _png(tmp_path / "pool" / "a.png")
    labels = _coco(tmp_path / "labels.json", ["other.png"])
    with pytest.raises(InputError, match="name none of the pool's images"):
        open_pool(tmp_path / "pool", labels)


def test_empty_folder_is_an_error(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "readme.txt").write_text("no images here")
    with pytest.raises(InputError, match="the pool is empty"):
        open_pool(tmp_path)


def test_dataset_without_images_is_an_error(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "annotations.json").write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    with pytest.raises(InputError, match="lists no images"):
        open_pool(tmp_path)


def test_missing_pool_and_file_pool_are_errors(tmp_path):
    with pytest.raises(InputError, match="pool folder not found"):
        open_pool(tmp_path / "nowhere")
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(InputError, match="must be a folder"):
        open_pool(tmp_path / "file.png")
