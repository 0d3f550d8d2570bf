"""Ground truth as flat numpy arrays, in the order pycocotools walks it.

pycocotools conventions followed here (they change numbers, so they are deliberate):
- images are evaluated in ascending image-id order and categories in ascending category-id order;
- within one image and category, ground truths keep their order in the annotations file (it decides
  which of two equally good ground truths a detection takes);
- the area used for size buckets is the annotation's `area` field, not the box's w * h (COCO's `area`
  is the segment's area); an annotation without `area` falls back to w * h;
- ignore regions: tsrgate marks them `iscrowd: 1` and `ignore: true`; pycocotools honours only
  `iscrowd`. Either flag makes a region here, with crowd semantics: its IoU with a detection is
  intersection / detection area, it can absorb any number of detections, and a detection matched to
  it counts neither as a true nor as a false positive. (A file with `ignore: true` but `iscrowd: 0`
  is the one case where pycocotools would treat the box as an ordinary ground truth.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gate.data.coco import CocoDataset
from gate.errors import InputError
from gate.storage import sha256_bytes


@dataclass(frozen=True)
class GroundTruthArrays:
    image_ids: np.ndarray  # (I,) int64, ascending
    category_ids: np.ndarray  # (K,) int64, ascending
    category_names: tuple[str, ...]
    image: np.ndarray  # (G,) int32 index into image_ids
    category: np.ndarray  # (G,) int32 index into category_ids
    bbox: np.ndarray  # (G, 4) float64 xywh
    area: np.ndarray  # (G,) float64, the `area` field (w * h when absent)
    ignore: np.ndarray  # (G,) bool: crowd / ignore region
    annotation_id: np.ndarray  # (G,) int64
    source: str | None = None  # the annotations file, named in messages about this ground truth

    @property
    def num_images(self) -> int:
        return int(self.image_ids.shape[0])

    @property
    def num_categories(self) -> int:
        return int(self.category_ids.shape[0])

    def signature(self) -> str:
        """sha256 of everything that decides a match; two record sets are comparable only if equal."""
        parts = [
            self.image_ids.astype("<i8").tobytes(),
            self.category_ids.astype("<i8").tobytes(),
            self.image.astype("<i4").tobytes(),
            self.category.astype("<i4").tobytes(),
            self.bbox.astype("<f8").tobytes(),
            self.area.astype("<f8").tobytes(),
            self.ignore.astype("u1").tobytes(),
        ]
        return sha256_bytes(b"|".join(parts))


def ground_truth_arrays(dataset: CocoDataset, source: str | Path | None = None) -> GroundTruthArrays:
    """Flatten a COCO dataset; annotations naming an unknown image or category are an InputError.

    `source` is the annotations file the dataset was read from: the errors name it."""
    image_ids = np.array(sorted({img.id for img in dataset.images}), dtype=np.int64)
    if image_ids.size != len(dataset.images):
        raise InputError("ground truth lists the same image id more than once", path=source)
    categories = sorted(dataset.categories, key=lambda c: c.id)
    category_ids = np.array([c.id for c in categories], dtype=np.int64)
    if np.unique(category_ids).size != category_ids.size:
        raise InputError("ground truth lists the same category id more than once", path=source)
    anns = dataset.annotations
    n = len(anns)
    ann_image = np.fromiter((a.image_id for a in anns), dtype=np.int64, count=n)
    ann_cat = np.fromiter((a.category_id for a in anns), dtype=np.int64, count=n)
    bbox = np.array([a.bbox for a in anns], dtype=np.float64).reshape(n, 4)
    area = np.array([a.area if a.area is not None else a.bbox[2] * a.bbox[3] for a in anns], dtype=np.float64)
    ignore = np.fromiter((bool(a.iscrowd) or a.ignore for a in anns), dtype=bool, count=n)
    annotation_id = np.fromiter((a.id for a in anns), dtype=np.int64, count=n)
    image = _index_of(image_ids, ann_image, "image_id", annotation_id, source)
    category = _index_of(category_ids, ann_cat, "category_id", annotation_id, source)
    return GroundTruthArrays(
        image_ids=image_ids,
        category_ids=category_ids,
        category_names=tuple(c.name for c in categories),
        image=image,
        category=category,
        bbox=bbox,
        area=area,
        ignore=ignore,
        annotation_id=annotation_id,
        source=None if source is None else str(source),
    )


def _index_of(sorted_ids: np.ndarray, values: np.ndarray, field: str, annotation_id: np.ndarray,
              source: str | Path | None = None) -> np.ndarray:
    pos = np.searchsorted(sorted_ids, values)
    pos_clipped = np.minimum(pos, max(sorted_ids.size - 1, 0))
    known = (pos < sorted_ids.size) & (sorted_ids[pos_clipped] == values) if sorted_ids.size else np.zeros(values.shape, bool)
    if not known.all():
        bad = np.flatnonzero(~known)
        raise InputError(
            f"annotation id {int(annotation_id[bad[0]])} has {field} {int(values[bad[0]])} that is not in the "
            f"ground truth ({bad.size} annotation(s) like this)", path=source,
        )
    return pos.astype(np.int32)
