"""Glare and over-exposure: a low sun or strong light washing out the frame.

In linear light the exposure is raised (`exposure` x), highlights roll off into white the way a
saturating sensor does, and a light source in the upper part of the frame adds veiling glare (a
broad halo that lifts everything near it), a bright core, and a few lens-flare ghosts mirrored
through the image centre.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from gate.data import portable_math as pm
from gate.suites.transforms.base import (
    RenderInput,
    TransformFamily,
    TransformOutcome,
    TransformParams,
    linear_to_srgb,
    radial_falloff,
    rounded,
    srgb_to_linear,
)

SUN = np.array([1.0, 0.97, 0.88])


class GlareParams(TransformParams):
    exposure: float = Field(ge=1, le=10, description="exposure multiplier in linear light")
    veil: float = Field(ge=0, le=3, description="strength of the veiling glare around the light source")
    radius: float = Field(gt=0, le=1000, description="halo radius of the veiling glare, px at 640 px width")
    ghosts: int = Field(ge=0, le=8, description="lens-flare ghosts")
    horizon: float = Field(0.5, ge=0.05, le=0.95, description="horizon row as a fraction of the height")


SEVERITIES = {
    1: dict(exposure=1.3, veil=0.25, radius=60, ghosts=1),
    2: dict(exposure=1.6, veil=0.4, radius=80, ghosts=2),
    3: dict(exposure=2.0, veil=0.6, radius=100, ghosts=3),
    4: dict(exposure=2.6, veil=0.85, radius=125, ghosts=3),
    5: dict(exposure=3.4, veil=1.1, radius=150, ghosts=4),
}


def _roll_off(linear: np.ndarray) -> np.ndarray:
    """Soft shoulder: linear up to 0.6, then compressed towards 1 (a sensor near saturation)."""
    knee = 0.6
    over = np.clip(linear - knee, 0.0, None)
    return np.where(linear <= knee, linear, knee + (1 - knee) * (1 - pm.exp(-over / (1 - knee))))


def apply_glare(image: RenderInput, p: GlareParams, rng: np.random.Generator) -> TransformOutcome:
    h, w, s = image.height, image.width, image.scale
    sx = float(rng.uniform(0.1, 0.9) * w)
    sy = float(rng.uniform(0.0, 0.8) * p.horizon * h)
    lin = srgb_to_linear(image.pixels) * p.exposure
    light = p.veil * radial_falloff(h, w, sx, sy, p.radius * s, 1.5) + 2.5 * radial_falloff(h, w, sx, sy, 4.0 * s, 4.0)
    lin = lin + light[..., None] * SUN
    ghosts = []
    for _ in range(p.ghosts):
        t = float(rng.uniform(0.4, 1.6))
        gx, gy = w / 2 + (w / 2 - sx) * t, h / 2 + (h / 2 - sy) * t
        size = float(rng.uniform(6, 22) * s)
        tint = np.array([rng.uniform(0.6, 1.0), rng.uniform(0.7, 1.0), rng.uniform(0.8, 1.0)])
        lin = lin + (0.12 * p.veil * radial_falloff(h, w, gx, gy, size, 8.0))[..., None] * tint
        ghosts.append((gx, gy, size))
    out = linear_to_srgb(_roll_off(lin))
    return TransformOutcome(out, drawn={"source_x": rounded(sx, 1), "source_y": rounded(sy, 1), "ghosts": len(ghosts)})


GLARE = TransformFamily(
    name="glare",
    version="2",  # 2: CPU-independent math (gate.data.portable_math)
    summary="glare/over-exposure: exposure gain with highlight roll-off, veiling glare, flare ghosts",
    params_model=GlareParams,
    severities=SEVERITIES,
    apply=apply_glare,
)
