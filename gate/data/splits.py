"""Seeded train/test splits for datasets that ship without one (e.g. the Italy set).

An image's part is decided by the sha256 of the seed and its file name alone, so the split does not
depend on image ids, file order or which other images are present: adding or removing a frame never
moves another frame across the split, and a suite and a training recipe that name the same
`SeededSplit` see exactly complementary image sets.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gate.data.coco import CocoDataset, CocoImage

SplitPart = Literal["train", "test"]


class SeededSplit(BaseModel):
    """The images whose seeded hash falls in `part`: `test` takes a `test_fraction` share, `train` the rest."""

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(ge=0)
    test_fraction: float = Field(gt=0, lt=1)
    part: SplitPart

    def describe(self) -> str:
        return f"seeded split {self.part} (seed {self.seed}, test fraction {self.test_fraction})"


def seeded_part(file_name: str, seed: int, test_fraction: float) -> SplitPart:
    """`test` when sha256("<seed>:<file name>") read as a fraction of 2**256 is below `test_fraction`."""
    digest = hashlib.sha256(f"{seed}:{file_name}".encode()).digest()
    return "test" if int.from_bytes(digest, "big") / 2**256 < test_fraction else "train"


def in_split(image: CocoImage, split: SeededSplit) -> bool:
    return seeded_part(image.file_name, split.seed, split.test_fraction) == split.part


def seeded_split_ids(coco: CocoDataset, split: SeededSplit) -> list[int]:
    """Ids (sorted) of the images in the split's part."""
    return sorted(img.id for img in coco.images if in_split(img, split))
