"""The match records: everything later metrics need, computed by one matching pass.

Per detection: image, class, score, box, rank within its image and class, and for every area range
and IoU threshold whether it is a true positive (matched to a counted ground truth) or ignored
(matched to an ignore region / a ground truth outside the area range, or unmatched and itself
outside the area range); anything else is a false positive. The two flags are stored as bit masks,
one uint16 per area range, bit t for IoU threshold t. Per ground truth: image, class, box, area and
the ignore flag. Records save to one `.npz` file (no pickled objects) and load back equal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from gate.errors import InputError
from gate.storage import atomic_write_npz

RECORDS_FORMAT = 1

# TIDE error codes stored per detection (see gate.eval.tide).
TIDE_NONE, TIDE_CLS, TIDE_LOC, TIDE_BOTH, TIDE_DUPE, TIDE_BKG = 0, 1, 2, 3, 4, 5


@dataclass(eq=False)
class MatchRecords:
    gt_signature: str
    image_ids: np.ndarray  # (I,) int64 ascending
    category_ids: np.ndarray  # (K,) int64 ascending
    category_names: tuple[str, ...]
    area_ranges: np.ndarray  # (A, 2) float64 [lo, hi]; row 0 is "all"
    iou_thresholds: np.ndarray  # (T,) float64, pycocotools' 0.50:0.05:0.95
    max_dets: int
    # ground truth
    gt_image: np.ndarray  # (G,) int32
    gt_category: np.ndarray  # (G,) int32
    gt_bbox: np.ndarray  # (G, 4) float64
    gt_area: np.ndarray  # (G,) float64
    gt_ignore: np.ndarray  # (G,) bool
    gt_annotation_id: np.ndarray  # (G,) int64
    # detections
    det_image: np.ndarray  # (N,) int32
    det_category: np.ndarray  # (N,) int32
    det_score: np.ndarray  # (N,) float64
    det_bbox: np.ndarray  # (N, 4) float64
    det_rank: np.ndarray  # (N,) int32: position after a stable score sort within (image, class)
    det_index: np.ndarray  # (N,) int64: position in the predictions as given
    det_tp: np.ndarray  # (N, A) uint16 bit masks over IoU thresholds
    det_ignored: np.ndarray  # (N, A) uint16 bit masks over IoU thresholds
    det_gt50: np.ndarray  # (N,) int32: ground truth matched at IoU 0.5, area "all" (-1: none)
    det_agnostic_gt: np.ndarray  # (N,) int32: class-agnostic match at IoU 0.5 (-1: none)
    det_in_ignore: np.ndarray  # (N,) bool: agnostically unmatched but inside an ignore region
    det_tide: np.ndarray  # (N,) int8 TIDE error code for false positives at IoU 0.5
    det_tide_gt: np.ndarray  # (N,) int32 the ground truth that TIDE error points at (-1: none)
    extra: dict = field(default_factory=dict)

    # ---- sizes --------------------------------------------------------------------------------
    @property
    def num_images(self) -> int:
        return int(self.image_ids.shape[0])

    @property
    def num_categories(self) -> int:
        return int(self.category_ids.shape[0])

    @property
    def num_detections(self) -> int:
        return int(self.det_score.shape[0])

    @property
    def det_area(self) -> np.ndarray:
        return self.det_bbox[:, 2] * self.det_bbox[:, 3]

    def area_index(self, lo: float, hi: float) -> int:
        """The column of the area range [lo, hi]; an InputError when the records lack it."""
        hits = np.flatnonzero((self.area_ranges[:, 0] == lo) & (self.area_ranges[:, 1] == hi))
        if hits.size == 0:
            raise InputError(f"these match records have no area range [{lo:g}, {hi:g}]")
        return int(hits[0])

    def iou_index(self, threshold: float) -> int:
        hits = np.flatnonzero(np.isclose(self.iou_thresholds, threshold, rtol=0, atol=1e-12))
        if hits.size == 0:
            raise InputError(f"these match records have no IoU threshold {threshold}")
        return int(hits[0])

    def tp_flags(self, area: int = 0, iou: int = 0) -> np.ndarray:
        return ((self.det_tp[:, area] >> iou) & 1).astype(bool)

    def ignored_flags(self, area: int = 0, iou: int = 0) -> np.ndarray:
        return ((self.det_ignored[:, area] >> iou) & 1).astype(bool)

    def gt_counted(self, area: int = 0) -> np.ndarray:
        """Ground truths that count in recall's denominator for an area range (not ignored, in range)."""
        lo, hi = self.area_ranges[area]
        return ~self.gt_ignore & (self.gt_area >= lo) & (self.gt_area <= hi)

    def gt_detected(self, score_threshold: float) -> np.ndarray:
        """Per ground truth: found by a same-class detection scoring >= threshold at IoU 0.5."""
        found = np.zeros(self.gt_image.shape[0], dtype=bool)
        hit = (self.det_gt50 >= 0) & (self.det_score >= score_threshold) & self.tp_flags(0, self.iou_index(0.5))
        found[self.det_gt50[hit]] = True
        return found

    def false_positive_flags(self, score_threshold: float) -> np.ndarray:
        """Per detection: scores >= threshold and is neither a true positive nor ignored at IoU 0.5."""
        t = self.iou_index(0.5)
        return (self.det_score >= score_threshold) & ~self.tp_flags(0, t) & ~self.ignored_flags(0, t)

    # ---- persistence ----------------------------------------------------------------------------
    _META = ("gt_signature", "category_names", "max_dets", "extra")

    def save(self, path: str | Path) -> None:
        """Write one .npz atomically; its bytes depend only on the records (no timestamps inside)."""
        meta = {
            "format": RECORDS_FORMAT,
            "gt_signature": self.gt_signature,
            "category_names": list(self.category_names),
            "max_dets": self.max_dets,
            "extra": self.extra,
        }
        arrays = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in self._META}
        arrays["meta"] = np.array(json.dumps(meta, sort_keys=True))
        atomic_write_npz(path, arrays)

    @classmethod
    def load(cls, path: str | Path) -> MatchRecords:
        path = Path(path)
        if not path.is_file():
            raise InputError("match records file not found", path=path)
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                arrays = {name: data[name] for name in data.files if name != "meta"}
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"unreadable match records ({type(exc).__name__}: {exc})", path=path) from None
        if meta.get("format") != RECORDS_FORMAT:
            raise InputError(f"match records format {meta.get('format')} is not supported (expected {RECORDS_FORMAT})", path=path)
        expected = {f.name for f in fields(cls)} - set(cls._META)
        if set(arrays) != expected:
            missing = sorted(expected - set(arrays))
            raise InputError(f"match records lack arrays {missing}", path=path)
        return cls(
            gt_signature=meta["gt_signature"],
            category_names=tuple(meta["category_names"]),
            max_dets=int(meta["max_dets"]),
            extra=meta.get("extra", {}),
            **arrays,
        )

    def equals(self, other: MatchRecords) -> bool:
        """Field-by-field equality (arrays compared exactly, including dtypes)."""
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, np.ndarray):
                if not isinstance(b, np.ndarray) or a.dtype != b.dtype or a.shape != b.shape or not np.array_equal(a, b):
                    return False
            elif a != b:
                return False
        return True
