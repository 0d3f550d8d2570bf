"""Writing a mining run: `mined.json`, the contact sheet and the COCO "to label" export, atomically.

    DIR/mined.json               the ranked list, every signal per image (MiningResult)
    DIR/sheet.html               the top N with predicted boxes and reasons
    DIR/to_label/images/         the top N images, copied byte for byte
    DIR/to_label/annotations.json  COCO: the model's detections at the operating threshold as
                                 pre-annotations (`score` kept, `pre_annotation: true`), categories
                                 = the model's classes; info records the mined list's sha256

The to_label folder is a dataset folder: a labelling tool corrects its annotations.json, and
`tsrgate mined-dataset` turns the mined list plus those (or any) labels into a suite source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gate.data.coco import CocoAnnotation, CocoCategory, CocoDataset, CocoImage, save_coco
from gate.data.dataset import ANNOTATIONS_FILE, IMAGES_DIR
from gate.errors import IntegrityError
from gate.mining.mine import MiningRun, decode_image
from gate.mining.pool import PoolImage
from gate.mining.results import RESULT_FILE, MinedImage, MiningResult
from gate.mining.sheet import render_tile, sheet_html
from gate.storage import sha256_bytes, staged_dir

SHEET_FILE = "sheet.html"
TO_LABEL_DIR = "to_label"
EXPORT_GENERATOR = "tsrgate.mining"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class MiningOutput:
    folder: Path
    result_path: Path
    sheet_path: Path
    to_label_dir: Path
    exported: int


def export_file_name(image: MinedImage, rank: int) -> str:
    """A unique, filesystem-safe name for an exported image: rank, then the original name."""
    name = Path(image.file)
    stem = _UNSAFE.sub("_", name.stem).strip("._") or "image"
    return f"{rank:05d}_{stem[:80]}{name.suffix.lower()}"


def to_label_dataset(result: MiningResult, top: list[MinedImage], mined_sha256: str) -> CocoDataset:
    """The COCO "to label" file: the top images with the model's detections as pre-annotations."""
    threshold = result.model.operating_threshold
    images, annotations = [], []
    for img in top:
        tags = dict(img.tags)
        tags.update({"mined_rank": img.rank, "mined_score": img.score})
        images.append(CocoImage(id=img.image_id, file_name=img.export_file or img.file, width=img.width,
                                height=img.height, tags=tags, pool_file=img.file, mined_reasons=list(img.reasons)))
        for det in img.detections:
            if det.score < threshold:
                continue
            x0, y0, x1, y1 = det.box
            w, h = round(x1 - x0, 2), round(y1 - y0, 2)
            annotations.append(CocoAnnotation(id=len(annotations) + 1, image_id=img.image_id,
                                              category_id=det.label + 1, bbox=[x0, y0, w, h],
                                              area=round(w * h, 2), iscrowd=0, score=det.score,
                                              pre_annotation=True))
    categories = [CocoCategory(id=i + 1, name=name) for i, name in enumerate(result.model.class_names)]
    info = {
        "generator": EXPORT_GENERATOR,
        "description": f"top {len(top)} mined images to label; annotations are {result.model.name}'s detections",
        "mined_list_sha256": mined_sha256,
        "model": result.model.name,
        "model_version": result.model.version,
        "model_weights_sha256": result.model.weights_sha256,
        "pool": result.pool.path,
    }
    return CocoDataset(info=info, images=images, annotations=annotations, categories=categories)


def _checked_bytes(item: PoolImage, image: MinedImage) -> bytes:
    data = item.path.read_bytes()
    if sha256_bytes(data) != image.sha256:
        raise IntegrityError("pool image changed while it was being mined (sha256 differs)", path=item.path)
    return data


def write_mining_output(run: MiningRun, out: str | Path, force: bool = False) -> MiningOutput:
    """Write mined.json, sheet.html and to_label/ into `out` (refused if it exists, unless `force`)."""
    result = run.result
    top = result.top_images()
    named = {img.image_id: export_file_name(img, img.rank) for img in top}
    result = result.model_copy(update={"images": [
        img.model_copy(update={"export_file": named.get(img.image_id)}) for img in result.images]})
    top = result.top_images()
    pool_items = {item.image_id: item for item in run.pool.images}
    text = result.to_text()
    mined_sha256 = sha256_bytes(text.encode("utf-8"))
    out = Path(out)
    with staged_dir(out, force) as stage:
        (stage / RESULT_FILE).write_text(text, encoding="utf-8")
        images_dir = stage / TO_LABEL_DIR / IMAGES_DIR
        images_dir.mkdir(parents=True)
        tiles = {}
        for img in top:
            item = pool_items[img.image_id]
            data = _checked_bytes(item, img)
            (images_dir / img.export_file).write_bytes(data)
            tiles[img.image_id] = render_tile(decode_image(data), img, result.model.operating_threshold)
        save_coco(to_label_dataset(result, top, mined_sha256), stage / TO_LABEL_DIR / ANNOTATIONS_FILE)
        (stage / SHEET_FILE).write_text(sheet_html(result, tiles, top), encoding="utf-8")
    run.result = result
    return MiningOutput(folder=out, result_path=out / RESULT_FILE, sheet_path=out / SHEET_FILE,
                        to_label_dir=out / TO_LABEL_DIR, exported=len(top))
