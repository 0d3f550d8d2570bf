"""Assembles an imported dataset: numbered images, annotations and categories plus the image files."""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath
from typing import Any

from PIL import Image, UnidentifiedImageError

from gate.data.coco import CocoAnnotation, CocoCategory, CocoDataset, CocoImage
from gate.errors import InputError

# Coordinates are stored to 1e-4 px: enough for any source, and it keeps float noise
# (0.1 * 640 = 64.00000000000001) out of the JSON so repeated imports are byte-identical.
COORD_DECIMALS = 4
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")


def at_line(path: str | Path, line: int | None) -> str:
    """`file:line` as printed in error messages (just the file when the line is unknown)."""
    return f"{path}:{line}" if line else str(path)


def read_text_file(path: Path) -> str:
    """A UTF-8 text file's content; a missing or binary file is an `InputError` naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", path=path) from None
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", path=path) from None


def round_coord(value: float) -> float:
    return round(float(value), COORD_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0


def safe_relative_name(name: str, where: str) -> str:
    """A file name that stays inside images/: relative, forward slashes, no `..`."""
    posix = PurePosixPath(name.replace("\\", "/"))
    if not name or posix.is_absolute() or ".." in posix.parts or str(posix) in ("", "."):
        raise InputError(f"image file name {name!r} must be a relative path inside the images folder", path=where)
    return str(posix)


def image_size(path: Path, where: str | None = None) -> tuple[int, int]:
    """(width, height) from the file header; an unreadable file is an `InputError` naming it."""
    try:
        with Image.open(path) as img:
            return img.size
    except FileNotFoundError:
        raise InputError("image file not found", path=where or path) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"unreadable image ({exc})", path=where or path) from None


class CocoBuilder:
    """Collects one dataset while its image files are written into `images_dir` (a staging folder)."""

    def __init__(self, images_dir: Path):
        self.images_dir = images_dir
        self.images: list[CocoImage] = []
        self.annotations: list[CocoAnnotation] = []
        self.categories: list[CocoCategory] = []
        self._file_names: set[str] = set()

    def add_category(self, name: str, supercategory: str = "", category_id: int | None = None, **extra: Any) -> int:
        """Register a category; ids count up from 1 unless the source fixes them."""
        if category_id is None:
            category_id = len(self.categories) + 1
        self.categories.append(CocoCategory(id=category_id, name=name, supercategory=supercategory, **extra))
        return category_id

    def copy_file(self, file_name: str, source: Path, where: str) -> None:
        """Copy a file unchanged to images/<file_name> without registering an image (passthrough)."""
        shutil.copyfile(source, self._target(file_name, where))

    def _target(self, file_name: str, where: str) -> Path:
        file_name = safe_relative_name(file_name, where)
        if file_name in self._file_names:
            raise InputError(f"two images would both be stored as {file_name!r}", path=where)
        self._file_names.add(file_name)
        target = self.images_dir / file_name
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def _add_image(self, file_name: str, width: int, height: int, tags: dict | None, extra: dict) -> int:
        image_id = len(self.images) + 1
        self.images.append(
            CocoImage(id=image_id, file_name=file_name, width=width, height=height, tags=tags or {}, **extra)
        )
        return image_id

    def write_image(
        self, file_name: str, data: bytes, width: int, height: int, where: str, tags: dict | None = None, **extra: Any
    ) -> int:
        """Store encoded image bytes as images/<file_name>; returns the new image id."""
        self._target(file_name, where).write_bytes(data)
        return self._add_image(safe_relative_name(file_name, where), width, height, tags, extra)

    def copy_image(
        self, file_name: str, source: Path, width: int, height: int, where: str, tags: dict | None = None, **extra: Any
    ) -> int:
        """Copy an image file unchanged (same bytes) to images/<file_name>; returns the new image id."""
        self.copy_file(file_name, source, where)
        return self._add_image(safe_relative_name(file_name, where), width, height, tags, extra)

    def add_annotation(
        self,
        image_id: int,
        category_id: int,
        bbox: tuple[float, float, float, float],
        ignore: bool = False,
        attributes: dict | None = None,
        **extra: Any,
    ) -> int:
        """Add one box [x, y, w, h]; ignore regions are also marked iscrowd=1 so pycocotools skips them."""
        x, y, w, h = (round_coord(v) for v in bbox)
        annotation_id = len(self.annotations) + 1
        self.annotations.append(
            CocoAnnotation(
                id=annotation_id,
                image_id=image_id,
                category_id=category_id,
                bbox=[x, y, w, h],
                area=round_coord(w * h),
                iscrowd=1 if ignore else 0,
                ignore=ignore,
                attributes=attributes or {},
                **extra,
            )
        )
        return annotation_id

    def build(self, info: dict[str, Any], licenses: list[dict[str, Any]] | None = None) -> CocoDataset:
        return CocoDataset(
            info=info,
            licenses=licenses or [],
            images=self.images,
            annotations=self.annotations,
            categories=self.categories,
        )
