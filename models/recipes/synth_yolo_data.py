"""Step 1 of the synth-yolo recipe (runs with tsrgate's Python): the datasets in Ultralytics' YOLO layout.

Writes OUT/world (train and val splits of the generated world that synth-baseline trains on) and
OUT/clean (the `clean` suite's exact images, verified against its manifest, with its labels), each with
a data.yaml. Class order is synth-baseline's card order, so synth-yolo's labels mean the same classes.

    PYTHONPATH=. python models/recipes/synth_yolo_data.py OUT [world] [SUITE...]   (default: world clean)
"""

from __future__ import annotations

import sys
from pathlib import Path

from gate.data.dataset import DetectionDataset
from gate.data.yolo_layout import write_data_yaml, write_yolo_split, write_yolo_tiles
from gate.cards.card import load_card
from gate.suites import open_suite
from gate.suites.catalog import find_suite
from gate.suites.manifest import MANIFEST_FILE, load_manifest
from gate.locations import cache_root
from gate.suites.resolved import manifest_source
from gate.suites.source import ensure_world


def write_world(out: Path, class_names: list[str]) -> None:
    """The world the `clean` suite is drawn from (its test split): train split as 256 px native-resolution
    windows holding signs (what YOLOv8n trains on), val split as whole frames."""
    manifest = load_manifest(find_suite("clean") / MANIFEST_FILE)
    world = DetectionDataset.load(ensure_world(manifest_source(manifest), cache_root(None)))
    paths = {image.id: world.image_path(image) for image in world.images}
    ids = {split: [image.id for image in world.images if image.tag("split") == split] for split in ("train", "val")}
    print(write_yolo_tiles(world.coco, paths, out / "world", "train", class_names, ids["train"]))
    print(write_yolo_split(world.coco, paths, out / "world", "val", class_names, ids["val"]))
    write_data_yaml(out / "world", {"train": "train", "val": "val"}, class_names)


def write_suite(out: Path, name: str, class_names: list[str]) -> None:
    """A suite's exact images (pixels verified against its manifest) and labels, as one split."""
    suite = open_suite(name)
    print(write_yolo_split(suite.coco, suite.image_paths, out / name, name, class_names))
    write_data_yaml(out / name, {"train": name, "val": name}, class_names)


def main(out: Path, parts: list[str]) -> None:
    class_names = list(load_card(Path("models/synth-baseline"), verify_weights=False).class_names)
    for part in parts:
        if part == "world":
            write_world(out, class_names)
        else:
            write_suite(out, part, class_names)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:] or ["world", "clean"])
