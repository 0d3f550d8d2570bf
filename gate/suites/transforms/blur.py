"""Motion blur: the image smeared along a straight line, as by camera shake or a long exposure.

The kernel is a line segment of `length` pixels at `angle` degrees (0 = horizontal), rasterised
with sub-pixel weights so short blurs at odd angles are still smooth; each channel is convolved
with it. The angle is drawn per image within `angle_range` unless the spec fixes it.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field
from scipy import ndimage

from gate.data import portable_math as pm
from gate.suites.transforms.base import RenderInput, TransformFamily, TransformOutcome, TransformParams, rounded


class MotionBlurParams(TransformParams):
    length: float = Field(ge=1, le=120, description="blur length, px at 640 px width")
    angle: float | None = Field(None, ge=-90, le=90, description="fixed direction in degrees; None draws one")
    angle_range: float = Field(30.0, ge=0, le=90, description="drawn directions lie within +-angle_range")


SEVERITIES = {1: dict(length=3), 2: dict(length=5), 3: dict(length=8), 4: dict(length=12), 5: dict(length=17)}


def line_kernel(length: float, angle_deg: float) -> np.ndarray:
    """A normalised line kernel of the given length and direction (odd square size)."""
    half = int(np.ceil(length / 2)) + 1
    size = 2 * half + 1
    kernel = np.zeros((size, size))
    samples = max(int(length * 8), 2)
    direction = np.array([pm.cos(np.radians(angle_deg)), -pm.sin(np.radians(angle_deg))])
    for t in np.linspace(-length / 2, length / 2, samples):
        x, y = half + t * direction[0], half + t * direction[1]
        ix, iy = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - ix, y - iy
        # Bilinear splat of each sample point onto the four nearest kernel cells.
        for dy, wy in ((0, 1 - fy), (1, fy)):
            for dx, wx in ((0, 1 - fx), (1, fx)):
                if 0 <= iy + dy < size and 0 <= ix + dx < size:
                    kernel[iy + dy, ix + dx] += wy * wx
    return kernel / kernel.sum()


def apply_motion_blur(image: RenderInput, p: MotionBlurParams, rng: np.random.Generator) -> TransformOutcome:
    angle = p.angle if p.angle is not None else float(rng.uniform(-p.angle_range, p.angle_range))
    kernel = line_kernel(max(p.length * image.scale, 1.0), angle)
    out = np.stack([ndimage.convolve(image.pixels[..., c], kernel, mode="nearest") for c in range(3)], axis=2)
    return TransformOutcome(out, drawn={"angle": rounded(angle, 2)})


MOTION_BLUR = TransformFamily(
    name="motion_blur",
    version="2",  # 2: CPU-independent math (gate.data.portable_math)
    summary="motion blur: line kernel of severity-set length at a drawn angle",
    params_model=MotionBlurParams,
    severities=SEVERITIES,
    apply=apply_motion_blur,
)
