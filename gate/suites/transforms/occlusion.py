"""Occlusion: branches, poles and vehicle corners pasted over a controlled fraction of each sign box.

Each occluder is drawn as a hard-edged (not anti-aliased) mask, so "occluded" has an exact meaning:
the share of the box's pixels (those whose centres lie inside the box) that the pasted occluders
cover. For every box the occluder's size is searched (bisection on one size knob, all random choices
fixed first) until it covers at least the target fraction; the fraction actually covered, by the
union of every occluder pasted in the image, is written to the annotation as `occluded_pasted`, and
`occluded` becomes the larger of that and any occlusion the source already recorded (a lower bound
of the true union, since the source's own occluders are not known pixel by pixel).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw
from pydantic import Field, field_validator

from gate.data import portable_math as pm
from gate.suites.transforms.base import (
    RenderInput,
    TransformFamily,
    TransformOutcome,
    TransformParams,
    box_pixel_mask,
    rounded,
)

OccluderKind = Literal["branch", "pole", "vehicle"]
SEARCH_STEPS = 14
MAX_ATTEMPTS = 4  # draws tried per box before taking the one that harms neighbouring signs least
NEIGHBOUR_SLACK = 0.1  # how far past its own share a neighbouring sign may be covered without a retry
LEAVES = 240
CAR_PAINT = [(182, 28, 30), (30, 60, 140), (210, 210, 205), (40, 40, 44), (120, 125, 130), (25, 85, 50), (200, 160, 40)]


class OcclusionParams(TransformParams):
    fraction: float = Field(gt=0, le=0.95, description="target share of each box to cover")
    jitter: float = Field(0.05, ge=0, le=0.3, description="per-box target spread around `fraction`")
    kinds: list[OccluderKind] = Field(default_factory=lambda: ["branch", "pole", "vehicle"], min_length=1)
    probability: float = Field(1.0, ge=0, le=1, description="share of boxes that get an occluder")
    min_size: float = Field(0.0, ge=0, description="boxes whose longer side is below this (px) are left alone")

    @field_validator("kinds")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("kinds must not repeat")
        return value


SEVERITIES = {
    1: dict(fraction=0.1),
    2: dict(fraction=0.2),
    3: dict(fraction=0.3),
    4: dict(fraction=0.45),
    5: dict(fraction=0.6),
}


class _Window:
    """A local drawing area of the image (occluders only touch the neighbourhood of their box)."""

    def __init__(self, box, height: int, width: int):
        x0, y0, x1, y1 = box
        bw, bh = x1 - x0, y1 - y0
        self.c0 = max(0, int(np.floor(x0 - 6.0 * bw)))
        self.c1 = min(width, int(np.ceil(x1 + 6.0 * bw)))
        self.r0 = max(0, int(np.floor(y0 - 3.0 * bh)))
        self.r1 = height  # poles and vehicles stand on the ground below the sign
        self.box = (x0 - self.c0, y0 - self.r0, x1 - self.c0, y1 - self.r0)
        self.centre_x_in_image = width / 2 - self.c0  # the image's centre column, in window coordinates
        rows, cols = box_pixel_mask(box, height, width)
        self.box_rows = slice(rows.start - self.r0, rows.stop - self.r0)
        self.box_cols = slice(cols.start - self.c0, cols.stop - self.c0)

    @property
    def size(self) -> tuple[int, int]:
        return (self.c1 - self.c0, self.r1 - self.r0)

    def coverage(self, mask: np.ndarray) -> float:
        region = mask[self.box_rows, self.box_cols]
        return float(region.mean()) if region.size else 0.0


Painter = Callable[[float], tuple[np.ndarray, np.ndarray]]  # extent 0..1 -> (mask bool, colour HxWx3)


def _pole(rng: np.random.Generator, win: _Window) -> Painter:
    x0, y0, x1, y1 = win.box
    bw, bh = x1 - x0, y1 - y0
    centre = x0 + rng.uniform(0.2, 0.8) * bw
    top = y0 - rng.uniform(0.5, 2.5) * bh
    tilt = rng.uniform(-0.06, 0.06)  # horizontal drift per pixel of height
    grey = rng.uniform(95, 165)
    w, h = win.size
    yy, xx = np.mgrid[0:h, 0:w]

    def paint(extent: float):
        half = max(extent * 1.6 * bw, 0.5) / 2
        axis = centre + tilt * (yy + 0.5 - y1)
        across = (xx + 0.5 - axis) / half
        mask = (np.abs(across) <= 1.0) & (yy + 0.5 >= top)
        shade = grey * (0.65 + 0.35 * pm.cos(np.clip(across, -1, 1) * 1.3 - 0.4))
        return mask, np.repeat(shade[..., None], 3, axis=2) * np.array([1.0, 1.0, 1.04])

    return paint


def _vehicle(rng: np.random.Generator, win: _Window, target: float) -> Painter:
    x0, y0, x1, y1 = win.box
    bw, bh = x1 - x0, y1 - y0
    # The body comes in from the nearer image edge, as a vehicle passing beside the camera would.
    from_left = (x0 + x1) / 2 < win.centre_x_in_image
    reach = rng.uniform(min(0.95, target + 0.25), 1.25) * bw  # how far the body reaches across the box
    inner = x0 + reach if from_left else x1 - reach
    outer = x0 - 7 * bw if from_left else x1 + 7 * bw  # a vehicle is much wider than a sign
    left, right = min(inner, outer), max(inner, outer)
    paint_colour = np.array(CAR_PAINT[int(rng.integers(len(CAR_PAINT)))], dtype=np.float64)
    w, h = win.size

    def paint(extent: float):
        top = y1 - extent * 1.3 * bh
        radius = max(0.0, min(0.35 * bh, (h - top) / 2))
        layer = Image.new("L", (w, h), 0)
        ImageDraw.Draw(layer).rounded_rectangle([left, top, right, h + radius + 2], radius=radius, fill=255)
        mask = np.asarray(layer) > 0
        rows = np.arange(h, dtype=np.float64)[:, None, None]
        # Darker glass in a band under the roof line, paint below it, a bright rim along the roof.
        glass = (rows >= top + 0.12 * bh) & (rows < top + 0.55 * bh)
        body = paint_colour * (0.75 + 0.25 * pm.exp(-np.clip(rows - top, 0, None) / (2.0 * bh)))
        colour = np.where(glass, np.array([35.0, 42.0, 50.0]), body)
        colour = np.where(rows < top + 1.0, np.minimum(paint_colour + 60.0, 255.0), colour)
        return mask, np.broadcast_to(colour, (h, w, 3))

    return paint


def _branch(rng: np.random.Generator, win: _Window) -> Painter:
    x0, y0, x1, y1 = win.box
    bw, bh = x1 - x0, y1 - y0
    size = max(bw, bh)
    side = int(rng.integers(3))  # enters from the left, right or top
    start = [(x0 - 1.5 * bw, y0 + rng.uniform(-0.5, 0.8) * bh),
             (x1 + 1.5 * bw, y0 + rng.uniform(-0.5, 0.8) * bh),
             (x0 + rng.uniform(0, 1) * bw, y0 - 2.0 * bh)][side]
    end = (x0 + rng.uniform(0.25, 0.75) * bw, y0 + rng.uniform(0.25, 0.75) * bh)
    t = rng.uniform(0.25, 1.15, LEAVES)
    centres = np.stack([start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t], axis=1)
    centres += rng.normal(0.0, 0.33 * size, (LEAVES, 2))
    radii = rng.uniform(0.07, 0.16, (LEAVES, 2)) * size + 0.6
    greens = np.stack([rng.uniform(25, 70, LEAVES), rng.uniform(60, 125, LEAVES), rng.uniform(15, 55, LEAVES)], axis=1)
    bark = (75 + rng.uniform(-15, 15), 55 + rng.uniform(-10, 10), 35)
    w, h = win.size

    def paint(extent: float):
        count = int(round(extent * LEAVES))
        mask_img = Image.new("L", (w, h), 0)
        colour_img = Image.new("RGB", (w, h), 0)
        mdraw, cdraw = ImageDraw.Draw(mask_img), ImageDraw.Draw(colour_img)
        if count:
            reach = min(1.0, 0.3 + extent * 2)
            tip = (start[0] + (end[0] - start[0]) * reach, start[1] + (end[1] - start[1]) * reach)
            width = max(1, int(round(0.07 * size)))
            mdraw.line([start, tip], fill=255, width=width)
            cdraw.line([start, tip], fill=tuple(int(c) for c in bark), width=width)
        for (cx, cy), (rx, ry), g in zip(centres[:count], radii[:count], greens[:count], strict=True):
            shape = [cx - rx, cy - ry, cx + rx, cy + ry]
            mdraw.ellipse(shape, fill=255)
            cdraw.ellipse(shape, fill=tuple(int(c) for c in g))
        return np.asarray(mask_img) > 0, np.asarray(colour_img, dtype=np.float64)

    return paint


def _fit(paint: Painter, win: _Window, target: float) -> tuple[np.ndarray, np.ndarray]:
    """The smallest drawn size whose coverage of the box reaches `target` (bisection on extent)."""
    lo, hi = 0.0, 1.0
    best = paint(hi)
    if win.coverage(best[0]) < target:
        return best  # cannot reach it (box mostly outside the image): paste the largest
    for _ in range(SEARCH_STEPS):
        mid = (lo + hi) / 2
        attempt = paint(mid)
        if win.coverage(attempt[0]) >= target:
            hi, best = mid, attempt
        else:
            lo = mid
    return best


def _sign_below(boxes, index: int) -> bool:
    """Whether another box lies below this one and overlaps it horizontally."""
    x0, _, x1, y1 = boxes[index]
    margin = 0.5 * (x1 - x0)
    return any(other_index != index and o[1] >= y1 - 0.5 * (o[3] - o[1]) and o[0] < x1 + margin and o[2] > x0 - margin
               for other_index, o in enumerate(boxes))


def _coverage(covered: np.ndarray, box, height: int, width: int) -> float:
    rows, cols = box_pixel_mask(box, height, width)
    region = covered[rows, cols]
    return float(region.mean()) if region.size else 0.0


def apply_occlusion(image: RenderInput, p: OcclusionParams, rng: np.random.Generator) -> TransformOutcome:
    h, w = image.height, image.width
    boxes = image.boxes
    out = image.pixels.copy()
    covered = np.zeros((h, w), dtype=bool)
    # All random choices per box are drawn up front, so one box's retries never shift another's draws.
    targets = [float(np.clip(p.fraction + rng.uniform(-p.jitter, p.jitter), 0.01, 0.95)) for _ in boxes]
    active = [rng.uniform() < p.probability and max(b[2] - b[0], b[3] - b[1]) >= p.min_size
              and b[2] > b[0] and b[3] > b[1] for b in boxes]
    drawn: list[dict] = []
    for index, box in enumerate(boxes):
        win = _Window(box, h, w)
        if not active[index] or win.size[0] <= 0 or win.size[1] <= 0:
            drawn.append({"kind": None})
            continue
        kinds = p.kinds
        if _sign_below(boxes, index) and "branch" in kinds:
            # Poles and vehicles reach down to the ground and would bury a sign mounted below this
            # one (two signs on one post are common), so such a box gets a branch.
            kinds = ["branch"]
        best = None
        for _attempt in range(MAX_ATTEMPTS):
            kind = kinds[int(rng.integers(len(kinds)))]
            painter = {"pole": lambda: _pole(rng, win), "vehicle": lambda: _vehicle(rng, win, targets[index]),
                       "branch": lambda: _branch(rng, win)}[kind]()
            mask, colour = _fit(painter, win, targets[index])
            trial = covered.copy()
            trial[win.r0:win.r1, win.c0:win.c1] |= mask
            # How far this occluder pushes any other sign past its own share (a wide vehicle or a
            # pole can swallow a neighbouring sign): retry with fresh draws, keep the least harmful.
            harm = max([_coverage(trial, other, h, w)
                         - max(targets[j] if active[j] else 0.0, _coverage(covered, other, h, w))
                         for j, other in enumerate(boxes) if j != index] + [0.0])
            if best is None or harm < best[0]:
                best = (harm, kind, mask, colour)
            if harm <= NEIGHBOUR_SLACK:
                break
        _, kind, mask, colour = best
        region = out[win.r0:win.r1, win.c0:win.c1]
        region[mask] = colour[mask]
        covered[win.r0:win.r1, win.c0:win.c1] |= mask
        drawn.append({"kind": kind, "target": rounded(targets[index])})
    # A pasted pixel must differ from the scene it covers, or it would not count as occluded when
    # someone checks the fraction against the pixels.
    same = covered & np.all(np.round(out) == np.round(image.pixels), axis=2)
    out[same] = np.where(np.round(out[same]) >= 128, np.round(out[same]) - 7, np.round(out[same]) + 7)

    attributes: dict[int, dict[str, float | str]] = {}
    for index, box in enumerate(boxes):
        attributes[index] = {"occluded_pasted": rounded(_coverage(covered, box, h, w))}
        if drawn[index]["kind"]:
            attributes[index]["occluder"] = drawn[index]["kind"]
            attributes[index]["occluder_target"] = drawn[index]["target"]
    return TransformOutcome(out, drawn={"occluders": sum(1 for d in drawn if d["kind"])}, box_attributes=attributes)


OCCLUSION = TransformFamily(
    name="occlusion",
    version="2",  # 2: CPU-independent math (gate.data.portable_math)
    summary="occluders (branches, poles, vehicle corners) over a controlled share of each box; share recorded",
    params_model=OcclusionParams,
    severities=SEVERITIES,
    apply=apply_occlusion,
)
