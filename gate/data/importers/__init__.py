"""Importers that turn other dataset layouts into a tsrgate dataset folder (images/ + COCO JSON).

One module per source format, each with `convert(src, builder, **options) -> CocoDataset`; the
registry below names them and the options each accepts. `import_dataset` builds the output in a
staging folder and moves it into place only when the whole import succeeded.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from gate import __version__
from gate.data.coco import save_coco
from gate.data.dataset import ANNOTATIONS_FILE, IMAGES_DIR
from gate.errors import InputError
from gate.storage import staged_dir


@dataclass(frozen=True)
class ImporterSpec:
    """A source format: the module that converts it and the options it takes."""

    name: str
    module: str
    summary: str
    options: frozenset[str] = frozenset()


IMPORTERS: dict[str, ImporterSpec] = {
    spec.name: spec
    for spec in (
        ImporterSpec("gtsdb", "gate.data.importers.gtsdb", "GTSDB original layout: NNNNN.ppm frames + gt.txt"),
        ImporterSpec(
            "voc", "gate.data.importers.voc", "Pascal VOC: Annotations/*.xml + JPEGImages/", frozenset({"classes_file"})
        ),
        ImporterSpec(
            "yolo", "gate.data.importers.yolo", "YOLO txt: images/ + labels/ + class names", frozenset({"classes_file"})
        ),
        ImporterSpec(
            "coco",
            "gate.data.importers.coco",
            "COCO JSON (+ images), copied into the tsrgate layout",
            frozenset({"images_dir"}),
        ),
    )
}
FORMATS = tuple(IMPORTERS)


class ImportSummary(BaseModel):
    """What an import produced."""

    format: str
    source: str
    output: str
    images: int
    annotations: int
    ignore_regions: int
    categories: int
    images_without_annotations: int


def import_dataset(fmt: str, src: str | Path, out: str | Path, force: bool = False, **options) -> ImportSummary:
    """Import SRC (in format `fmt`) into the dataset folder OUT; an existing OUT needs `force`.

    Options: `classes_file` (voc, yolo), `images_dir` (coco); None values are ignored.
    """
    if fmt not in IMPORTERS:
        raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    spec = IMPORTERS[fmt]
    options = {key: Path(value) for key, value in options.items() if value is not None}
    unsupported = sorted(set(options) - spec.options)
    if unsupported:
        raise InputError(f"option {', '.join(unsupported)} does not apply to the {fmt} importer")
    src, out = Path(src), Path(out)
    if not src.exists():
        raise InputError("no such file or folder", path=src)
    src_abs, out_abs = src.resolve(), out.resolve()
    # --force replaces OUT wholesale, so OUT must never contain the source (or sit inside it).
    if out_abs == src_abs or out_abs in src_abs.parents or src_abs in out_abs.parents:
        raise InputError("output folder must not be, contain or lie inside the source", path=out)
    convert = importlib.import_module(spec.module).convert
    from gate.data.importers.builder import CocoBuilder

    with staged_dir(out, force=force) as staging:
        images_dir = staging / IMAGES_DIR
        images_dir.mkdir()
        dataset = convert(src, CocoBuilder(images_dir), **options)
        dataset.info = {**dataset.info, "imported_by": f"tsrgate {__version__}", "imported_format": fmt}
        save_coco(dataset, staging / ANNOTATIONS_FILE)

    with_boxes = {ann.image_id for ann in dataset.annotations}
    return ImportSummary(
        format=fmt,
        source=str(src),
        output=str(out),
        images=len(dataset.images),
        annotations=len(dataset.annotations),
        ignore_regions=sum(1 for ann in dataset.annotations if ann.ignore or ann.iscrowd),
        categories=len(dataset.categories),
        images_without_annotations=sum(1 for image in dataset.images if image.id not in with_boxes),
    )
