"""A mined list plus labels -> a dataset folder that a suite spec can use as its source.

    tsrgate mine MODEL POOL --out mined/          # ranks the pool, exports the top N to label
    (label mined/to_label/ in any COCO tool, or take labels that already exist)
    tsrgate mined-dataset mined/ --labels LABELS --out hard-cases-data/
    suite spec: source: {dataset: hard-cases-data}, then `tsrgate suite build`

The dataset holds the exported images (copied from `to_label/images/`, each checked against the
sha256 the mined list recorded) and, for each, the boxes the labels give it. Labels are matched to
mined images by file name: the exported name, the name in the pool, then the bare file name when
unambiguous. Mined images the labels do not cover are left out and listed in the dataset's `info`
(`unlabelled_mined_images`), never included as if they had no signs. The `info` also records the
sha256 of the mined list and of the labels file, so a suite built from the folder (its manifest
pins the annotations' sha256) traces back to the mining run and the labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gate.data.coco import CocoAnnotation, CocoDataset, CocoImage, load_coco, save_coco
from gate.data.dataset import ANNOTATIONS_FILE, IMAGES_DIR
from gate.errors import InputError, IntegrityError
from gate.mining.export import EXPORT_GENERATOR, TO_LABEL_DIR
from gate.mining.results import RESULT_FILE, MinedImage, load_mining_result
from gate.storage import sha256_bytes, sha256_file, staged_dir


@dataclass(frozen=True)
class LabelledDatasetReport:
    folder: Path
    images: int
    boxes: int
    unlabelled: list[str]
    mined_list_sha256: str
    labels_sha256: str


def _labels_path(labels: Path) -> Path:
    return labels / ANNOTATIONS_FILE if labels.is_dir() else labels


def match_labels(mined: list[MinedImage], labels: CocoDataset) -> dict[int, CocoImage]:
    """Mined image id -> the labelled image it is (by exported name, pool name, then unique bare name)."""
    by_name = {img.file_name: img for img in labels.images}
    by_bare: dict[str, list[CocoImage]] = {}
    for img in labels.images:
        by_bare.setdefault(Path(img.file_name).name, []).append(img)
    matched = {}
    for image in mined:
        found = None
        for name in (image.export_file, image.file):
            if name and name in by_name:
                found = by_name[name]
                break
        if found is None:
            for name in (image.export_file, image.file):
                candidates = by_bare.get(Path(name).name, []) if name else []
                if len(candidates) == 1:
                    found = candidates[0]
                    break
        if found is not None:
            matched[image.image_id] = found
    return matched


def build_labelled_dataset(mined_dir: str | Path, labels: str | Path, out: str | Path, *, top: int | None = None,
                           force: bool = False) -> LabelledDatasetReport:
    """Write the labelled mined images as a dataset folder (images/ + annotations.json) at `out`."""
    mined_dir = Path(mined_dir)
    result_path = mined_dir / RESULT_FILE
    result = load_mining_result(result_path)
    mined_sha256 = sha256_file(result_path)
    exported = [img for img in result.images if img.export_file]
    if top is not None:
        exported = exported[:top]
    if not exported:
        raise InputError("the mining result exported no images (run `tsrgate mine` with --out)", path=result_path)
    labels_file = _labels_path(Path(labels))
    coco = load_coco(labels_file)
    matched = match_labels(exported, coco)
    if not matched:
        raise InputError("the labels name none of the mined images (matched by file name)", path=labels_file)
    grouped = coco.annotations_by_image()
    images, annotations, unlabelled = [], [], []
    sources = {}
    for img in exported:
        labelled = matched.get(img.image_id)
        if labelled is None:
            unlabelled.append(img.file)
            continue
        source = mined_dir / TO_LABEL_DIR / IMAGES_DIR / img.export_file
        if not source.is_file():
            raise InputError("exported image missing from the mining output", path=source)
        sources[img.export_file] = source
        tags = dict(img.tags)
        tags.update(labelled.tags)
        tags.update({"mined_rank": img.rank, "mined_score": img.score})
        images.append(CocoImage(id=img.image_id, file_name=img.export_file, width=img.width, height=img.height,
                                tags=tags, pool_file=img.file, mined_reasons=list(img.reasons)))
        for ann in grouped.get(labelled.id, []):
            annotations.append(CocoAnnotation(
                id=len(annotations) + 1, image_id=img.image_id, category_id=ann.category_id, bbox=list(ann.bbox),
                area=ann.area, iscrowd=ann.iscrowd, ignore=ann.ignore, attributes=dict(ann.attributes)))
    labels_sha256 = sha256_file(labels_file)
    dataset = CocoDataset(
        info={
            "generator": EXPORT_GENERATOR,
            "description": f"{len(images)} mined images of {result.pool.path} with labels from {labels_file}",
            "mined_list_sha256": mined_sha256,
            "labels_file": str(labels_file),
            "labels_sha256": labels_sha256,
            "model": result.model.name,
            "model_version": result.model.version,
            "model_weights_sha256": result.model.weights_sha256,
            "pool": result.pool.path,
            "unlabelled_mined_images": unlabelled,
        },
        images=images, annotations=annotations, categories=list(coco.categories),
    )
    with staged_dir(out, force) as stage:
        (stage / IMAGES_DIR).mkdir()
        for img in exported:
            if img.export_file not in sources:
                continue
            data = sources[img.export_file].read_bytes()
            if sha256_bytes(data) != img.sha256:
                raise IntegrityError("exported image differs from the one that was mined (sha256)",
                                     path=sources[img.export_file])
            (stage / IMAGES_DIR / img.export_file).write_bytes(data)
        save_coco(dataset, stage / ANNOTATIONS_FILE)
    return LabelledDatasetReport(folder=Path(out), images=len(images), boxes=len(annotations), unlabelled=unlabelled,
                                 mined_list_sha256=mined_sha256, labels_sha256=labels_sha256)
