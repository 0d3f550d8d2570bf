"""What every scenario transform shares: its parameter model, severity table and pixel helpers.

A transform family turns one image (float RGB, 0..255) into its scenario version. Parameters come
from a severity level 1-5 (COCO-C style) with optional overrides from the suite spec; randomness
comes only from the generator handed in, which the builder seeds per image, so a family is a pure
function of (pixels, boxes, params, seed).

Pixel lengths in parameters are given for a 640-pixel-wide image and scale with the image width,
so one severity table serves the 512-px synthetic world and 816-px GTSDB frames alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError
from scipy import ndimage

from gate.data import portable_math as pm

REFERENCE_WIDTH = 640.0
SEVERITIES = (1, 2, 3, 4, 5)


class TransformParams(BaseModel):
    """Base of each family's parameters: unknown keys are errors, values are plain JSON numbers/strings."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class RenderInput:
    """One image on its way through a transform chain.

    `pixels`: (H, W, 3) float64 in 0..255. `boxes`: one (x0, y0, x1, y1) per annotation, in the
    order of the image's annotations (ignored ones included: occluders and lights treat every sign
    alike). `depth`: optional (H, W) metres from the source dataset.
    """

    pixels: np.ndarray
    boxes: list[tuple[float, float, float, float]]
    depth: np.ndarray | None = None

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def scale(self) -> float:
        """Multiplier for pixel-length parameters (they are stated for a 640-px-wide image)."""
        return self.width / REFERENCE_WIDTH


@dataclass
class TransformOutcome:
    """A transform's result: new pixels, a few scalar facts it drew (recorded per image), per-box facts."""

    pixels: np.ndarray
    drawn: dict[str, Any] = field(default_factory=dict)
    box_attributes: dict[int, dict[str, float | str]] = field(default_factory=dict)


ApplyFunction = Callable[[RenderInput, Any, np.random.Generator], TransformOutcome]


@dataclass(frozen=True)
class TransformFamily:
    """One kind of scenario transform: name, version (bump on any pixel change), params, severities."""

    name: str
    version: str
    summary: str
    params_model: type[TransformParams]
    severities: dict[int, dict[str, Any]]
    apply: ApplyFunction

    def resolve(self, severity: int, overrides: dict[str, Any] | None = None) -> TransformParams:
        """The parameters for `severity` with `overrides` on top; raises ValueError on a bad key or value."""
        if severity not in self.severities:
            raise ValueError(f"severity must be one of {list(self.severities)}, got {severity!r}")
        values = dict(self.severities[severity])
        values.update(overrides or {})
        try:
            return self.params_model.model_validate(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "params"
            raise ValueError(f"{self.name} parameter {where}: {err['msg']}") from None


# --- pixel helpers -------------------------------------------------------------------------------


def srgb_to_linear(pixels: np.ndarray) -> np.ndarray:
    """0..255 sRGB to 0..1 linear light (lighting and exposure act on light, not on code values)."""
    c = np.clip(pixels / 255.0, 0.0, 1.0)
    return np.where(c <= 0.04045, c / 12.92, pm.power((c + 0.055) / 1.055, 2.4))


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """0..1 linear light back to 0..255 sRGB (values above 1 clip, as a sensor saturates)."""
    c = np.clip(linear, 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * pm.power(c, 1.0 / 2.4) - 0.055) * 255.0


def luminance(pixels: np.ndarray) -> np.ndarray:
    """Rec. 709 luma of an (H, W, 3) array, same units as the input."""
    return pixels[..., 0] * 0.2126 + pixels[..., 1] * 0.7152 + pixels[..., 2] * 0.0722


def blur(pixels: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur over the image plane only (channels stay separate)."""
    if sigma <= 0:
        return pixels
    if pixels.ndim == 3:
        return ndimage.gaussian_filter(pixels, sigma=(sigma, sigma, 0), mode="nearest")
    return ndimage.gaussian_filter(pixels, sigma=sigma, mode="nearest")


def radial_falloff(height: int, width: int, cx: float, cy: float, radius: float, power: float = 2.0) -> np.ndarray:
    """1 / (1 + (r / radius)^power): the halo shape of a light seen through optics or haze."""
    yy, xx = np.mgrid[0:height, 0:width]
    r = pm.hypot(xx + 0.5 - cx, yy + 0.5 - cy)
    return 1.0 / (1.0 + pm.power(r / max(radius, 1e-6), power))


def box_pixel_mask(box: tuple[float, float, float, float], height: int, width: int) -> tuple[slice, slice]:
    """The pixels of a box: those whose centres lie inside it (rows, cols slices; may be empty)."""
    x0, y0, x1, y1 = box
    c0 = max(0, int(np.ceil(x0 - 0.5)))
    c1 = min(width, int(np.ceil(x1 - 0.5)))
    r0 = max(0, int(np.ceil(y0 - 0.5)))
    r1 = min(height, int(np.ceil(y1 - 0.5)))
    return slice(r0, max(r0, r1)), slice(c0, max(c0, c1))


def horizon_row(height: int, horizon: float) -> float:
    """The image row of the horizon, given as a fraction of the height from the top."""
    return horizon * height


def rounded(value: float, digits: int = 4) -> float:
    """Round a drawn value for the manifest (stable text, no float noise)."""
    return float(round(float(value), digits))
