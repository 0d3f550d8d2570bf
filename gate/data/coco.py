"""Pydantic models of the COCO detection format, with tsrgate's optional extensions.

Extensions (all optional, so plain COCO files load unchanged):
- `CocoImage.tags`: per-image scene tags such as `{"time": "night", "weather": "rain", "region": "eu"}`;
- `CocoAnnotation.attributes`: per-box facts such as `{"occluded": 0.35, "truncated": 0.0}`;
- `CocoAnnotation.ignore`: an ignore region (counted neither as a miss nor against a detection),
  the same role COCO's `iscrowd` plays for crowds.
Unknown extra fields (for example GTSDB's `gtsdb_split`) are kept, not dropped.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gate.errors import InputError
from gate.inputs import read_structured, validate
from gate.storage import atomic_write_json

TagValue = str | int | float | bool
AttributeValue = str | int | float | bool


class CocoImage(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    file_name: str
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    tags: dict[str, TagValue] = Field(default_factory=dict)

    def tag(self, key: str) -> TagValue | None:
        """A scene tag, falling back to a top-level extra field of the same name (e.g. `split`)."""
        if key in self.tags:
            return self.tags[key]
        extra = self.model_extra or {}
        return extra.get(key)


class CocoAnnotation(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    image_id: int
    category_id: int
    bbox: list[float] = Field(min_length=4, max_length=4)  # [x, y, w, h] in image pixels
    area: float | None = None
    iscrowd: int = 0
    ignore: bool = False
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)

    @field_validator("bbox")
    @classmethod
    def _finite(cls, value: list[float]) -> list[float]:
        if not all(math.isfinite(v) for v in value):
            raise ValueError(f"bbox must be finite numbers, got {value}")
        return value

    @property
    def longer_side(self) -> float:
        return max(self.bbox[2], self.bbox[3])

    def xyxy(self) -> tuple[float, float, float, float]:
        x, y, w, h = self.bbox
        return (x, y, x + w, y + h)


class CocoCategory(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    name: str
    supercategory: str = ""


class CocoDataset(BaseModel):
    """A whole COCO annotations file (metadata only; pixels are never held here)."""

    model_config = ConfigDict(extra="allow")

    info: dict[str, Any] = Field(default_factory=dict)
    licenses: list[dict[str, Any]] = Field(default_factory=list)
    images: list[CocoImage]
    annotations: list[CocoAnnotation]
    categories: list[CocoCategory]

    def category_names(self) -> dict[int, str]:
        return {c.id: c.name for c in self.categories}

    def annotations_by_image(self) -> dict[int, list[CocoAnnotation]]:
        grouped: dict[int, list[CocoAnnotation]] = {img.id: [] for img in self.images}
        for ann in self.annotations:
            grouped.setdefault(ann.image_id, []).append(ann)
        return grouped

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def load_coco(path: str | Path) -> CocoDataset:
    """Load and validate a COCO annotations file; any problem is one `InputError` naming the file."""
    path = Path(path)
    raw = read_structured(path, "annotations file", fmt="json")
    if not isinstance(raw, dict):
        raise InputError("expected a JSON object with images, annotations and categories", path=path)
    for key in ("images", "annotations", "categories"):
        if key not in raw:
            raise InputError(f"missing top-level key '{key}'", path=path)
    return validate(raw, CocoDataset, path, "COCO")


def save_coco(dataset: CocoDataset, path: str | Path) -> None:
    atomic_write_json(path, dataset.to_json_dict())
