"""COCO -> Ultralytics' YOLO layout (the synth-yolo recipe's data step): labels, windows, data.yaml."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from PIL import Image

from gate.data.coco import CocoAnnotation, CocoCategory, CocoDataset, CocoImage
from gate.data.coco import load_coco
from gate.data.importers import import_dataset
from gate.data.yolo_layout import (
    tile_origins,
    write_data_yaml,
    write_yolo_split,
    write_yolo_tiles,
    yolo_label_line,
)

CLASSES = ["stop", "give_way"]


@pytest.fixture()
def dataset(tmp_path):
    rng = np.random.default_rng(0)
    paths = {}
    for image_id in (1, 2):
        path = tmp_path / "src" / f"frame_{image_id}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (320, 512, 3), dtype=np.uint8)).save(path)
        paths[image_id] = path
    coco = CocoDataset(
        images=[CocoImage(id=i, file_name=paths[i].name, width=512, height=320) for i in (1, 2)],
        annotations=[
            CocoAnnotation(id=1, image_id=1, category_id=7, bbox=[10, 20, 30, 40]),  # give_way
            CocoAnnotation(id=2, image_id=1, category_id=3, bbox=[300, 100, 20, 20]),  # stop
            CocoAnnotation(id=3, image_id=1, category_id=3, bbox=[200, 200, 8, 8], ignore=True),
            CocoAnnotation(id=4, image_id=2, category_id=3, bbox=[500, 300, 30, 30]),  # cut by the border
        ],
        categories=[CocoCategory(id=3, name="stop"), CocoCategory(id=7, name="give_way")],
    )
    return coco, paths


def test_label_line_is_normalised_and_clipped_to_the_image():
    assert yolo_label_line(1, [10, 20, 30, 40], 100, 200) == "1 0.250000 0.200000 0.300000 0.200000"
    # 500..530 x 300..330 in a 512x320 image keeps 500..512 x 300..320
    assert yolo_label_line(0, [500, 300, 30, 30], 512, 320) == "0 0.988281 0.968750 0.023438 0.062500"


def test_split_links_images_and_writes_labels_in_card_order(dataset, tmp_path):
    coco, paths = dataset
    out = tmp_path / "yolo"
    summary = write_yolo_split(coco, paths, out, "val", CLASSES)
    assert (summary.images, summary.boxes, summary.ignored_boxes) == (2, 3, 1)
    link = out / "images/val/000001_frame_1.png"
    assert link.is_symlink() and link.resolve() == paths[1].resolve()
    lines = (out / "labels/val/000001_frame_1.txt").read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["1", "0"]  # give_way is class 1, stop class 0 (card order)
    data = yaml.safe_load(write_data_yaml(out, {"val": "val"}, CLASSES).read_text())
    assert data["val"] == "images/val" and data["names"] == {0: "stop", 1: "give_way"}


def test_split_round_trips_through_the_yolo_importer(dataset, tmp_path):
    coco, paths = dataset
    out = tmp_path / "yolo"
    write_yolo_split(coco, paths, out, "val", CLASSES)
    # The importer reads one images/ + labels/ pair; point it at the split's folders.
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "images").symlink_to(out / "images/val")
    (flat / "labels").symlink_to(out / "labels/val")
    (flat / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    import_dataset("yolo", flat, tmp_path / "coco")
    back = load_coco(tmp_path / "coco/annotations.json")
    boxes = sorted(tuple(round(v, 2) for v in a.bbox) for a in back.annotations)
    assert boxes == [(10.0, 20.0, 30.0, 40.0), (300.0, 100.0, 20.0, 20.0), (500.0, 300.0, 12.0, 20.0)]


def test_tile_origins_cover_the_frame_with_the_last_window_flush():
    assert list(tile_origins(512, 320, 256, 128)) == [(0, 0), (128, 0), (256, 0), (0, 64), (128, 64), (256, 64)]
    assert list(tile_origins(200, 100, 256, 128)) == [(0, 0)]


def test_tiles_keep_native_pixels_and_only_windows_with_visible_signs(dataset, tmp_path):
    coco, paths = dataset
    out = tmp_path / "yolo"
    summary = write_yolo_tiles(coco, paths, out, "train", CLASSES, [1], tile=256, stride=128, min_visible=0.6)
    names = sorted(p.stem for p in (out / "images/train").iterdir())
    # give_way (10..40) is only in windows starting at x=0; stop (300..320) in x=128 and x=256 windows.
    assert names == ["000001_000_000", "000001_128_000", "000001_128_064", "000001_256_000", "000001_256_064"]
    window = np.asarray(Image.open(out / "images/train/000001_256_064.png"))
    source = np.asarray(Image.open(paths[1]))
    assert np.array_equal(window, source[64:320, 256:512])
    label = (out / "labels/train/000001_256_064.txt").read_text().split()
    assert label[0] == "0" and float(label[1]) == pytest.approx((300 - 256 + 10) / 256, abs=1e-6)
    assert summary.ignored_boxes == 1
