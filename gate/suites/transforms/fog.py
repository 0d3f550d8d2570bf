"""Fog: atmospheric scattering (Koschmieder's law) over a depth estimate, so far things fade most.

    I = J * t + A * (1 - t),   t = exp(-beta * depth),   beta = 3.912 / visibility

in linear light, where J is the clear scene and A the airlight. Depth comes either from a depth map
the source dataset provides (`depth: map`) or from the image row (`depth: row`): the road below the
horizon is a ground plane seen by a camera `camera_height` metres up; things above the horizon
(trees, facades, poles) are modelled as a corridor flanking the road, `up_scale` times taller than the
camera height; the sky (bright, smooth, touching the top edge) is at `max_depth`. Sign faces get the
distance their apparent size implies (`sign_size` metres across), so a small, far sign fades more
than a big, near one, as in real fog. Light scattered forwards also blurs distant detail a little.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from gate.data import portable_math as pm
from gate.suites.transforms.base import (
    RenderInput,
    TransformFamily,
    TransformOutcome,
    TransformParams,
    blur,
    linear_to_srgb,
    luminance,
    rounded,
    srgb_to_linear,
)

AIRLIGHT_TINT = np.array([0.97, 0.99, 1.0])  # fog is a faintly blue-grey white


class FogParams(TransformParams):
    visibility: float = Field(gt=1, le=100000, description="meteorological visibility, metres")
    airlight: float = Field(ge=0, le=255, description="brightness of the fog itself (8-bit sRGB)")
    depth: Literal["row", "map"] = Field("row", description="depth from the image row, or the dataset's depth map")
    horizon: float = Field(0.5, ge=0.05, le=0.95, description="horizon row as a fraction of the height")
    camera_height: float = Field(1.4, gt=0, le=10, description="camera height above the road, metres")
    focal: float = Field(1.0, gt=0.1, le=10, description="focal length as a multiple of the image width")
    up_scale: float = Field(4.0, gt=0, le=50,
                            description="height of roadside things above the horizon, x camera height")
    max_depth: float = Field(1000.0, gt=1, description="distance of the sky and the horizon, metres")
    sky: bool = Field(True, description="treat bright smooth areas touching the top edge as sky")
    sign_size: float = Field(0.7, ge=0, le=5, description="real width of a sign face (m); 0 ignores the boxes")
    scatter_blur: float = Field(1.5, ge=0, le=20, description="blur of the most fogged areas, px at 640 px width")


SEVERITIES = {
    1: dict(visibility=400.0, airlight=205.0),
    2: dict(visibility=220.0, airlight=210.0),
    3: dict(visibility=130.0, airlight=215.0),
    4: dict(visibility=80.0, airlight=220.0),
    5: dict(visibility=50.0, airlight=225.0),
}


def _sky_weight(pixels: np.ndarray, horizon_row: float) -> np.ndarray:
    """0..1 per pixel: how much it looks like open sky (bright, unsaturated or blue, above the horizon)."""
    lum = luminance(pixels) / 255.0
    spread = (pixels.max(axis=2) - pixels.min(axis=2)) / 255.0
    bluish = pixels[..., 2] >= pixels[..., 0]
    rows = np.arange(pixels.shape[0], dtype=np.float64)[:, None]
    above = np.clip((horizon_row - rows) / (0.1 * pixels.shape[0]), 0.0, 1.0)
    bright = np.clip((lum - 0.55) / 0.25, 0.0, 1.0)
    plain = np.where(bluish, 1.0, np.clip(1.0 - (spread - 0.08) / 0.12, 0.0, 1.0))
    return above * bright * plain


def row_depth(image: RenderInput, p: FogParams) -> np.ndarray:
    """Metres per pixel from the flat-road / roadside-corridor model (see the module docstring).

    Both halves meet at the horizon at `camera_height * f / eps` (eps = 5 % of the height), so the
    depth is continuous there instead of running off to infinity along one row.
    """
    h, w = image.height, image.width
    hz = p.horizon * h
    f = p.focal * w
    eps = 0.05 * h
    offset = np.arange(h, dtype=np.float64) + 0.5 - hz
    at_horizon = p.camera_height * f / eps
    below = p.camera_height * f / (np.maximum(offset, 0.0) + eps)
    above = np.minimum(p.up_scale * p.camera_height * f / (np.maximum(-offset, 0.0) + eps), at_horizon)
    d = np.clip(np.where(offset > 0, below, above), 1.0, p.max_depth)
    depth = np.repeat(d[:, None], w, axis=1)
    if p.sky:
        # Blend in log-depth so a half-sky pixel is "far", not "halfway".
        sky = _sky_weight(image.pixels, hz)
        depth = pm.exp(pm.log(depth) * (1 - sky) + pm.log(p.max_depth) * sky)
    return depth


def apply_fog(image: RenderInput, p: FogParams, rng: np.random.Generator) -> TransformOutcome:
    if p.depth == "map":
        if image.depth is None:
            raise ValueError("fog depth: map needs a depth map for every image (the image has none)")
        depth = np.clip(image.depth.astype(np.float64), 1.0, p.max_depth)
    else:
        depth = row_depth(image, p)
    h, w = image.height, image.width
    box_attributes: dict[int, dict[str, float]] = {}
    if p.sign_size > 0:
        f = p.focal * w
        for index, (x0, y0, x1, y1) in enumerate(image.boxes):
            size = max(x1 - x0, y1 - y0, 1.0)
            distance = float(np.clip(p.sign_size * f / size, 1.0, p.max_depth))
            c0, c1 = max(0, int(np.floor(x0))), min(w, int(np.ceil(x1)))
            r0, r1 = max(0, int(np.floor(y0))), min(h, int(np.ceil(y1)))
            if c1 > c0 and r1 > r0:
                # The face (roughly the inscribed ellipse) is in front of whatever is behind it.
                yy, xx = np.mgrid[r0:r1, c0:c1]
                face = (((xx + 0.5 - (x0 + x1) / 2) / max((x1 - x0) / 2, 0.5)) ** 2
                        + ((yy + 0.5 - (y0 + y1) / 2) / max((y1 - y0) / 2, 0.5)) ** 2) <= 1.0
                window = depth[r0:r1, c0:c1]
                window[face] = np.minimum(window[face], distance)
            box_attributes[index] = {"fog_depth_m": rounded(distance, 2)}
    beta = 3.912 / p.visibility
    t = pm.exp(-beta * depth)[..., None]
    scene = image.pixels
    if p.scatter_blur > 0:
        scene = scene * t + blur(scene, p.scatter_blur * image.scale) * (1 - t)
    airlight = srgb_to_linear(np.array(p.airlight)) * AIRLIGHT_TINT
    out = linear_to_srgb(srgb_to_linear(scene) * t + airlight * (1 - t))
    # Each box records the distance fog assumed for it, so results can be read against it.
    return TransformOutcome(out, box_attributes=box_attributes)


FOG = TransformFamily(
    name="fog",
    version="2",  # 2: CPU-independent math (gate.data.portable_math)
    summary="fog: Koschmieder scattering over row/corridor depth (or a depth map); far signs fade more",
    params_model=FogParams,
    severities=SEVERITIES,
    apply=apply_fog,
)
