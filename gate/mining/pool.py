"""The pool to mine: a folder of images (searched recursively) or a dataset folder, optionally with labels.

- A dataset folder (images/ + annotations.json) is mined in annotation order with its own image
  ids and tags; its annotations are the labels unless `labels` names others.
- Any other folder is searched recursively for *.jpg, *.jpeg, *.png and *.ppm (any letter case;
  hidden folders skipped); images get ids 1..N in path order.
- `labels` (a COCO file, or a dataset folder's annotations.json) attach to pool images by file
  name: the pool-relative path first, then the bare name when only one pool image has it.
Reading pixels is left to the miner, which lists unreadable files instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gate.data.coco import CocoAnnotation, CocoCategory, CocoDataset, CocoImage, load_coco
from gate.data.dataset import ANNOTATIONS_FILE, IMAGES_DIR, DetectionDataset
from gate.errors import InputError
from gate.storage import sha256_file

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm")


@dataclass(frozen=True)
class PoolImage:
    image_id: int
    file: str  # relative to the pool's image folder, '/'-separated
    path: Path
    info: CocoImage | None = None  # the dataset's record (tags, size) for a dataset pool


@dataclass
class PoolLabels:
    path: Path
    sha256: str
    categories: list[CocoCategory]
    by_image: dict[int, list[CocoAnnotation]]  # pool image id -> its labelled boxes


@dataclass
class MiningPool:
    root: Path
    kind: str  # "folder" or "dataset"
    images: list[PoolImage]
    labels: PoolLabels | None = None
    notes: list[str] = field(default_factory=list)

    def labelled_ids(self) -> set[int]:
        return set(self.labels.by_image) if self.labels is not None else set()


def is_dataset_folder(path: Path) -> bool:
    return (path / ANNOTATIONS_FILE).is_file() and (path / IMAGES_DIR).is_dir()


def _folder_images(root: Path) -> list[PoolImage]:
    files = []
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            files.append((relative.as_posix(), path))
    files.sort()
    return [PoolImage(image_id=i, file=name, path=path) for i, (name, path) in enumerate(files, start=1)]


def _labels_file(labels: Path) -> Path:
    if labels.is_dir():
        return labels / ANNOTATIONS_FILE
    return labels


def attach_labels(images: list[PoolImage], coco: CocoDataset, path: Path) -> PoolLabels:
    """Labelled boxes per pool image, matched by file name (see the module docstring)."""
    by_file = {img.file: img for img in images}
    by_name: dict[str, list[PoolImage]] = {}
    for img in images:
        by_name.setdefault(Path(img.file).name, []).append(img)
    grouped = coco.annotations_by_image()
    attached: dict[int, list[CocoAnnotation]] = {}
    for labelled in coco.images:
        target = by_file.get(labelled.file_name)
        if target is None:
            same_name = by_name.get(Path(labelled.file_name).name, [])
            target = same_name[0] if len(same_name) == 1 else None
        if target is not None:
            attached[target.image_id] = [a.model_copy(update={"image_id": target.image_id})
                                         for a in grouped.get(labelled.id, [])]
    if not attached:
        raise InputError("the labels name none of the pool's images (matched by file name)", path=path)
    return PoolLabels(path=path, sha256=sha256_file(path), categories=list(coco.categories), by_image=attached)


def open_pool(path: str | Path, labels: str | Path | None = None) -> MiningPool:
    """Find the pool's images (and labels); an empty pool is an InputError."""
    root = Path(path)
    if not root.exists():
        raise InputError("pool folder not found", path=root)
    if not root.is_dir():
        raise InputError("the pool must be a folder of images or a dataset folder", path=root)
    if is_dataset_folder(root):
        dataset = DetectionDataset.load(root)
        images = [PoolImage(image_id=img.id, file=img.file_name, path=dataset.image_path(img), info=img)
                  for img in dataset.images]
        pool = MiningPool(root=root, kind="dataset", images=images)
        if not images:
            raise InputError("the pool is empty: annotations.json lists no images", path=dataset.annotations_path)
        if labels is None:
            pool.labels = attach_labels(images, dataset.coco, dataset.annotations_path)
    else:
        images = _folder_images(root)
        if not images:
            raise InputError(f"the pool is empty: no {', '.join('*' + s for s in IMAGE_SUFFIXES)} files found "
                             "(searched recursively)", path=root)
        pool = MiningPool(root=root, kind="folder", images=images)
    if labels is not None:
        file = _labels_file(Path(labels))
        pool.labels = attach_labels(images, load_coco(file), file)
    labelled = len(pool.labelled_ids())
    if pool.labels is not None and labelled < len(images):
        pool.notes.append(f"{len(images) - labelled} of {len(images)} pool images have no labels")
    return pool
