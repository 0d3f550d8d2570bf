"""A dataset is a folder with `images/` and a COCO `annotations.json`; pixels are streamed."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from gate.data.coco import CocoAnnotation, CocoDataset, CocoImage, load_coco
from gate.errors import InputError

ANNOTATIONS_FILE = "annotations.json"
IMAGES_DIR = "images"
# Environment variable naming the shared GTSDB copy; tests and recipes read the data from there.
GTSDB_ENV = "TSRGATE_GTSDB"


def shared_dataset_path(env: str, name: str) -> Path:
    """Where a shared dataset copy lives: $`env`, else ../shared/datasets/`name` beside the repo."""
    if os.environ.get(env):
        return Path(os.environ[env])
    repo = Path(__file__).resolve().parents[2]
    return repo.parent / "shared" / "datasets" / name


def default_gtsdb_path() -> Path:
    """Where the shared GTSDB copy lives: $TSRGATE_GTSDB, else ../shared/datasets/gtsdb beside the repo."""
    return shared_dataset_path(GTSDB_ENV, "gtsdb")


# Environment variable naming the shared Italy copy (the italy-* suites' `source.env`).
ITALY_ENV = "TSRGATE_ITALY"


def default_italy_path() -> Path:
    """Where the shared Italy copy lives: $TSRGATE_ITALY, else ../shared/datasets/italy beside the repo."""
    return shared_dataset_path(ITALY_ENV, "italy")


@dataclass(frozen=True)
class LoadedImage:
    """One image's metadata, its boxes and its RGB pixels (H, W, 3) uint8."""

    info: CocoImage
    annotations: list[CocoAnnotation]
    pixels: np.ndarray


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode an image file to an RGB uint8 array; a broken file is an `InputError` naming it."""
    try:
        with Image.open(path) as img:
            img.load()
            return np.asarray(img.convert("RGB"))
    except FileNotFoundError:
        raise InputError("image file not found", path=path) from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise InputError(f"unreadable image ({exc})", path=path) from None


class DetectionDataset:
    """A COCO dataset folder. Loading reads only the JSON; `iter_images` decodes one image at a time."""

    def __init__(self, root: Path, coco: CocoDataset):
        self.root = root
        self.coco = coco
        self._by_image = coco.annotations_by_image()

    @classmethod
    def load(cls, root: str | Path) -> DetectionDataset:
        root = Path(root)
        if not root.is_dir():
            raise InputError("dataset folder not found", path=root)
        if not (root / ANNOTATIONS_FILE).is_file():
            raise InputError(f"not a dataset folder: no {ANNOTATIONS_FILE}", path=root)
        if not (root / IMAGES_DIR).is_dir():
            raise InputError(f"not a dataset folder: no {IMAGES_DIR}/", path=root)
        return cls(root, load_coco(root / ANNOTATIONS_FILE))

    @property
    def annotations_path(self) -> Path:
        return self.root / ANNOTATIONS_FILE

    @property
    def images(self) -> list[CocoImage]:
        return self.coco.images

    def image_path(self, image: CocoImage) -> Path:
        return self.root / IMAGES_DIR / image.file_name

    def annotations_for(self, image_id: int) -> list[CocoAnnotation]:
        return self._by_image.get(image_id, [])

    def iter_images(self, image_ids: Iterable[int] | None = None) -> Iterator[LoadedImage]:
        """Yield images one by one in annotation-file order (or in the order of `image_ids`)."""
        if image_ids is None:
            selected = self.coco.images
        else:
            by_id = {img.id: img for img in self.coco.images}
            selected = [by_id[i] for i in image_ids]
        for image in selected:
            yield LoadedImage(image, self.annotations_for(image.id), read_rgb(self.image_path(image)))

    def __len__(self) -> int:
        return len(self.coco.images)
