"""Things in front of signs: foliage, a near pole, the corner of a vehicle.

Each occluder is painted on a supersampled local canvas and becomes a premultiplied RGB patch with a
fractional alpha mask. The world keeps all occluders of an image in one `OccluderLayer` composited
over the signs, and an annotation's `occluded` value is the mean of that layer's alpha over the
sign's box (`box_fraction`): it is measured from what was drawn, not from the requested amount.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from gate.data import portable_math as pm

OCCLUDER_KINDS = ("foliage", "pole", "vehicle")
_SUPERSAMPLE = 2
_VEHICLE_COLORS = [(196, 198, 202), (34, 36, 40), (150, 24, 28), (40, 66, 128), (228, 228, 222), (214, 170, 40)]


@dataclass(frozen=True)
class OccluderPatch:
    """A painted occluder: premultiplied RGB and alpha (0..1) at integer offset (x0, y0)."""

    kind: str
    x0: int
    y0: int
    rgb: np.ndarray
    alpha: np.ndarray


class OccluderLayer:
    """All occluders of one image, composited front-to-back-correctly with the "over" operator."""

    def __init__(self, height: int, width: int):
        self.rgb = np.zeros((height, width, 3), np.float32)
        self.alpha = np.zeros((height, width), np.float32)

    def with_patch(self, patch: OccluderPatch) -> OccluderLayer:
        """A copy of the layer with `patch` laid over it (the receiver is unchanged)."""
        out = OccluderLayer.__new__(OccluderLayer)
        out.rgb, out.alpha = self.rgb.copy(), self.alpha.copy()
        h, w = patch.alpha.shape
        ys = slice(patch.y0, patch.y0 + h)
        xs = slice(patch.x0, patch.x0 + w)
        a = patch.alpha
        out.rgb[ys, xs] = patch.rgb + out.rgb[ys, xs] * (1 - a[..., None])
        out.alpha[ys, xs] = a + out.alpha[ys, xs] * (1 - a)
        return out

    def composite(self, image: np.ndarray) -> np.ndarray:
        """`image` (H, W, 3 float) with the occluders drawn over it."""
        return self.rgb + image * (1 - self.alpha[..., None])


def box_fraction(values: np.ndarray, box: tuple[float, float, float, float]) -> float:
    """Area-weighted mean of `values` (H, W) over the box (x0, y0, x1, y1), honouring partial pixels."""
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return 0.0
    c0, c1 = int(math.floor(x0)), int(math.ceil(x1))
    r0, r1 = int(math.floor(y0)), int(math.ceil(y1))
    cols = np.arange(c0, c1, dtype=np.float64)
    rows = np.arange(r0, r1, dtype=np.float64)
    wx = np.clip(np.minimum(cols + 1, x1) - np.maximum(cols, x0), 0, 1)
    wy = np.clip(np.minimum(rows + 1, y1) - np.maximum(rows, y0), 0, 1)
    region = values[r0:r1, c0:c1].astype(np.float64)
    # Elementwise, not `wy @ region @ wx`: BLAS results depend on the CPU (see gate.data.portable_math).
    return float((wy[:, None] * region * wx[None, :]).sum() / (wy.sum() * wx.sum()))


class _LocalCanvas:
    """A supersampled RGBA canvas covering image pixels [x0, x1) x [y0, y1)."""

    def __init__(self, x0: int, y0: int, x1: int, y1: int):
        self.x0, self.y0 = x0, y0
        self.image = Image.new("RGBA", ((x1 - x0) * _SUPERSAMPLE, (y1 - y0) * _SUPERSAMPLE), (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.image)

    def pt(self, x: float, y: float) -> tuple[float, float]:
        return (x - self.x0) * _SUPERSAMPLE, (y - self.y0) * _SUPERSAMPLE

    def px(self, length: float) -> float:
        return length * _SUPERSAMPLE

    def coverage(self, box) -> float:
        """Fraction of `box` (image pixels) covered on the supersampled canvas so far."""
        alpha = np.asarray(self.image.getchannel("A"), dtype=np.float32) / 255.0
        x0, y0 = self.pt(box[0], box[1])
        x1, y1 = self.pt(box[2], box[3])
        return box_fraction(alpha, (x0, y0, x1, y1))

    def finish(self, kind: str) -> OccluderPatch:
        small = np.asarray(self.image.convert("RGBa").reduce(_SUPERSAMPLE), dtype=np.float32)
        return OccluderPatch(kind, self.x0, self.y0, small[..., :3].copy(), small[..., 3] / 255.0)


def _clip_canvas(x0, y0, x1, y1, width: int, height: int) -> _LocalCanvas:
    ix0, iy0 = max(0, math.floor(x0)), max(0, math.floor(y0))
    ix1, iy1 = min(width, math.ceil(x1)), min(height, math.ceil(y1))
    return _LocalCanvas(ix0, iy0, max(ix1, ix0 + 1), max(iy1, iy0 + 1))


def _pole(rng, box, target: float, width: int, height: int) -> OccluderPatch:
    """A near utility pole crossing the whole frame; its width inside the box sets the coverage."""
    bx0, by0, bx1, by1 = box
    bw = bx1 - bx0
    pw = max(1.0, target * bw)
    left = bx0 + float(rng.uniform(0, max(0.0, bw - pw)))
    lean = float(rng.uniform(-0.04, 0.04)) * height
    mid_y = (by0 + by1) / 2
    top_x, bottom_x = left - lean * mid_y / height, left + lean * (1 - mid_y / height)
    canvas = _clip_canvas(min(top_x, bottom_x) - 2, 0, max(top_x, bottom_x) + pw + 2, height, width, height)
    base = np.array([(98, 78, 58), (128, 128, 126), (70, 72, 74)][int(rng.integers(3))], np.float64)
    base = np.clip(base + rng.normal(0, 8, 3), 0, 255)
    # Three vertical strips (shadow, face, highlight) give the pole a round look.
    for k, shade in enumerate((0.7, 1.0, 1.2)):
        a0, a1 = k / 3, (k + 1) / 3
        color = tuple(int(min(255, c * shade)) for c in base) + (255,)
        canvas.draw.polygon([canvas.pt(top_x + a0 * pw, 0), canvas.pt(top_x + a1 * pw, 0),
                             canvas.pt(bottom_x + a1 * pw, height), canvas.pt(bottom_x + a0 * pw, height)], fill=color)
    return canvas.finish("pole")


def _foliage(rng, box, target: float, width: int, height: int) -> OccluderPatch:
    """A branch reaching in from one side with leaves added until the box is covered enough."""
    bx0, by0, bx1, by1 = box
    bw, bh = bx1 - bx0, by1 - by0
    size = max(bw, bh)
    side = int(rng.integers(3))  # enters from the left, right or top
    if side == 0:
        start = (bx0 - 0.7 * size, by0 + float(rng.uniform(0.1, 0.9)) * bh)
    elif side == 1:
        start = (bx1 + 0.7 * size, by0 + float(rng.uniform(0.1, 0.9)) * bh)
    else:
        start = (bx0 + float(rng.uniform(0.1, 0.9)) * bw, by0 - 0.7 * size)
    end = (bx0 + float(rng.uniform(0.25, 0.75)) * bw, by0 + float(rng.uniform(0.25, 0.75)) * bh)
    margin = 0.45 * size + 2
    canvas = _clip_canvas(min(start[0], bx0) - margin, min(start[1], by0) - margin,
                          max(start[0], bx1) + margin, max(start[1], by1) + margin, width, height)
    bark = tuple(int(c) for c in np.clip(np.array([84, 62, 44]) + rng.normal(0, 8, 3), 0, 255)) + (255,)
    canvas.draw.line([canvas.pt(*start), canvas.pt(*end)], fill=bark, width=max(1, round(canvas.px(0.05 * size))))
    leaf_r = 0.09 * size
    for k in range(400):
        reach = min(1.25, 0.35 + 0.03 * k)  # the branch grows inwards only as far as needed
        t = float(rng.uniform(0, reach))
        cx = start[0] + t * (end[0] - start[0]) + float(rng.normal(0, 0.18 * size))
        cy = start[1] + t * (end[1] - start[1]) + float(rng.normal(0, 0.18 * size))
        rx = leaf_r * float(rng.uniform(0.6, 1.3))
        ry = rx * float(rng.uniform(0.5, 0.9))
        green = (int(rng.uniform(30, 90)), int(rng.uniform(70, 140)), int(rng.uniform(20, 60)), 255)
        canvas.draw.ellipse([canvas.pt(cx - rx, cy - ry), canvas.pt(cx + rx, cy + ry)], fill=green)
        if k % 3 == 2 and canvas.coverage(box) >= target:
            break
    return canvas.finish("foliage")


def _vehicle(rng, box, target: float, width: int, height: int) -> OccluderPatch:
    """The upper rear corner of a van or truck close to the camera, covering the lower part of the box."""
    bx0, by0, bx1, by1 = box
    bw, bh = bx1 - bx0, by1 - by0
    across = float(rng.uniform(max(target, 0.3), 1.0))
    down = min(1.0, target / across)
    extends_right = rng.random() < 0.5
    corner_y = by1 - down * bh
    corner_x = bx1 - across * bw if extends_right else bx0 + across * bw
    reach = max(4 * bw, 0.3 * width)
    far_x = corner_x + reach if extends_right else corner_x - reach
    canvas = _clip_canvas(min(corner_x, far_x) - 2, corner_y - 2, max(corner_x, far_x) + 2, height, width, height)
    body = np.clip(np.array(_VEHICLE_COLORS[int(rng.integers(len(_VEHICLE_COLORS)))]) + rng.normal(0, 8, 3), 0, 255)
    body_color = tuple(int(c) for c in body) + (255,)
    shadow_color = tuple(int(c * 0.62) for c in body) + (255,)
    x_left, x_right = (corner_x, far_x) if extends_right else (far_x, corner_x)
    tall = height - corner_y  # visible height of the vehicle, from its roof corner to the frame bottom
    radius = canvas.px(min(0.15 * min(across * bw, down * bh + 1), 0.04 * tall))
    canvas.draw.rounded_rectangle([canvas.pt(x_left, corner_y), canvas.pt(x_right, height + 10)], radius=radius,
                                  fill=body_color)
    # Rear window, bumper shadow, tail-light column and a wheel: enough cues to read as a vehicle.
    inset = 0.1 * reach
    win_top, win_bottom = corner_y + 0.06 * tall, corner_y + 0.3 * tall
    canvas.draw.rounded_rectangle([canvas.pt(x_left + inset, win_top), canvas.pt(x_right - inset, win_bottom)],
                                  radius=canvas.px(0.02 * tall), fill=(36, 42, 50, 255))
    canvas.draw.rectangle([canvas.pt(x_left, corner_y + 0.72 * tall), canvas.pt(x_right, corner_y + 0.8 * tall)],
                          fill=shadow_color)
    lamp_w = max(2.0, 0.05 * reach)
    lamp_x0 = corner_x + 0.02 * reach if extends_right else corner_x - 0.02 * reach - lamp_w
    lamp = [canvas.pt(lamp_x0, corner_y + 0.38 * tall), canvas.pt(lamp_x0 + lamp_w, corner_y + 0.6 * tall)]
    canvas.draw.rectangle(lamp, fill=(196, 28, 30, 255))
    wheel_r = 0.12 * tall
    wheel_x = corner_x + (0.25 * reach if extends_right else -0.25 * reach)
    wheel_y = height - 0.2 * wheel_r
    wheel = [canvas.pt(wheel_x - wheel_r, wheel_y - wheel_r), canvas.pt(wheel_x + wheel_r, wheel_y + wheel_r)]
    canvas.draw.ellipse(wheel, fill=(18, 18, 20, 255))
    return canvas.finish("vehicle")


_PAINTERS = {"foliage": _foliage, "pole": _pole, "vehicle": _vehicle}


def paint_occluder(rng: np.random.Generator, kind: str, box: tuple[float, float, float, float], target: float,
                   width: int, height: int) -> OccluderPatch:
    """Paint an occluder of `kind` aimed at covering about `target` of `box` (x0, y0, x1, y1 pixels).

    The result only approximates `target`; callers measure the real coverage with `box_fraction`.
    Public so that scenario transforms can reuse the same occluders on other datasets.
    """
    if kind not in _PAINTERS:
        raise ValueError(f"unknown occluder {kind!r}; expected one of {OCCLUDER_KINDS}")
    return _PAINTERS[kind](rng, box, float(np.clip(target, 0.0, 1.0)), width, height)
