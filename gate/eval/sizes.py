"""Size buckets (area ranges) for per-size metrics.

An area range is `[lo, hi]` in square pixels, and a ground truth is outside it when
`area < lo or area > hi`: both ends are inclusive, exactly as pycocotools tests them, so a box whose
area lies exactly on a boundary (say 32**2) belongs to both neighbouring buckets. For ground truth
the area is the annotation's `area` field (pycocotools' rule, see `gate.eval.groundtruth`); for
detections it is the box's w * h.
"""

from __future__ import annotations

from dataclasses import dataclass

from gate.errors import InputError

# pycocotools' upper bound for "no upper bound".
AREA_MAX = 1e5**2


@dataclass(frozen=True)
class SizeBucket:
    name: str
    lo: float
    hi: float

    @property
    def key(self) -> tuple[float, float]:
        return (self.lo, self.hi)


ALL_SIZES = SizeBucket("all", 0.0**2, AREA_MAX)

# COCO's buckets, in pycocotools' order (its `areaRngLbl` after "all").
COCO_BUCKETS = (
    SizeBucket("small", 0.0**2, 32.0**2),
    SizeBucket("medium", 32.0**2, 96.0**2),
    SizeBucket("large", 96.0**2, AREA_MAX),
)

# Traffic signs are small: COCO's "small" is split at 16 px so the far-away signs get their own bucket.
TRAFFIC_SIGN_BUCKETS = (
    SizeBucket("tiny", 0.0**2, 16.0**2),
    SizeBucket("small", 16.0**2, 32.0**2),
    SizeBucket("medium", 32.0**2, 96.0**2),
    SizeBucket("large", 96.0**2, AREA_MAX),
)

SIZE_SCHEMES: dict[str, tuple[SizeBucket, ...]] = {
    "traffic_sign": TRAFFIC_SIGN_BUCKETS,
    "coco": COCO_BUCKETS,
}
DEFAULT_SIZE_SCHEME = "traffic_sign"


def size_scheme(name: str) -> tuple[SizeBucket, ...]:
    """The buckets of a named scheme (`traffic_sign` or `coco`)."""
    try:
        return SIZE_SCHEMES[name]
    except KeyError:
        raise InputError(f"unknown size-bucket scheme {name!r}; known: {', '.join(SIZE_SCHEMES)}") from None


def default_area_ranges() -> tuple[tuple[float, float], ...]:
    """Every distinct range the matcher records: "all" first, then the union of both schemes' buckets."""
    ranges: list[tuple[float, float]] = [ALL_SIZES.key]
    for buckets in SIZE_SCHEMES.values():
        for bucket in buckets:
            if bucket.key not in ranges:
                ranges.append(bucket.key)
    return tuple(ranges)
