"""Night: a daylight frame relit as if taken after dark by a car camera.

The model works in linear light: the scene's reflectance (the day image) is multiplied by an
illumination map made of a dim ambient level (`exposure`), the ego car's headlight cone on the road,
pools of light under street lamps, and the headlight return of retroreflective sign faces. The light
is tinted (sodium orange or cool LED), a tone curve (`gamma`) crushes the shadows, lamps and oncoming
headlights glow with halos, bright areas bloom, and sensor noise grows with the gain the camera
needs to see anything at all.
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
    radial_falloff,
    rounded,
    srgb_to_linear,
)

# Relative RGB of the light sources (luminance about 1): low-pressure sodium is almost monochrome
# orange, white LEDs lean blue. Halogen is the ego car's own headlights.
LIGHT_COLOURS = {
    "sodium": np.array([1.45, 0.92, 0.38]),
    "led": np.array([0.86, 1.0, 1.22]),
    "halogen": np.array([1.12, 1.0, 0.78]),
}
# The ambient light at night is a tiny level and mostly the tint of the area lighting.
REFERENCE_EXPOSURE = 0.05  # the gain is 1 at this ambient level


class NightParams(TransformParams):
    exposure: float = Field(gt=0, le=1, description="ambient light left, as a multiplier of daylight (linear)")
    gamma: float = Field(gt=0, le=3, description="tone-curve exponent on linear light; >1 crushes shadows")
    light: Literal["sodium", "led"] = Field("sodium", description="colour of the area lighting")
    tint: float = Field(ge=0, le=1, description="how strongly the area lighting colours the scene")
    headlights: float = Field(ge=0, le=2, description="peak of the ego headlight cone on the road (linear)")
    retroreflection: float = Field(ge=0, le=2, description="headlight return of sign faces, nearest signs")
    lamps: int = Field(ge=0, le=12, description="street lamps drawn with their pools of light")
    oncoming: int = Field(ge=0, le=6, description="pairs of oncoming headlights near the horizon")
    noise: float = Field(ge=0, le=40, description="sensor noise sigma (8-bit units) at gain 1")
    bloom: float = Field(ge=0, le=3, description="strength of the bloom around bright areas")
    horizon: float = Field(0.5, ge=0.05, le=0.95, description="horizon row as a fraction of the height")


SEVERITIES = {
    1: dict(exposure=0.09, gamma=1.0, tint=0.35, headlights=0.45, retroreflection=0.9, lamps=4, oncoming=1,
            noise=1.5, bloom=0.5),
    2: dict(exposure=0.05, gamma=1.05, tint=0.45, headlights=0.4, retroreflection=0.75, lamps=3, oncoming=1,
            noise=2.5, bloom=0.7),
    3: dict(exposure=0.03, gamma=1.1, tint=0.55, headlights=0.32, retroreflection=0.6, lamps=3, oncoming=2,
            noise=3.5, bloom=0.9),
    4: dict(exposure=0.017, gamma=1.18, tint=0.65, headlights=0.25, retroreflection=0.45, lamps=2, oncoming=2,
            noise=4.5, bloom=1.1),
    5: dict(exposure=0.009, gamma=1.25, tint=0.75, headlights=0.18, retroreflection=0.3, lamps=1, oncoming=3,
            noise=6.0, bloom=1.3),
}


def _add_ellipse(target: np.ndarray, box, value: float, feather: float) -> None:
    """Add `value` inside the ellipse inscribed in `box`, feathered by `feather` px (local window only)."""
    h, w = target.shape
    x0, y0, x1, y1 = box
    pad = int(np.ceil(feather * 3)) + 1
    c0, c1 = max(0, int(x0) - pad), min(w, int(np.ceil(x1)) + pad)
    r0, r1 = max(0, int(y0) - pad), min(h, int(np.ceil(y1)) + pad)
    if c1 <= c0 or r1 <= r0:
        return
    yy, xx = np.mgrid[r0:r1, c0:c1]
    rx, ry = max((x1 - x0) / 2, 0.5), max((y1 - y0) / 2, 0.5)
    inside = ((((xx + 0.5 - (x0 + x1) / 2) / rx) ** 2 + ((yy + 0.5 - (y0 + y1) / 2) / ry) ** 2) <= 1.0)
    target[r0:r1, c0:c1] += value * blur(inside.astype(np.float64), feather)


def apply_night(image: RenderInput, p: NightParams, rng: np.random.Generator) -> TransformOutcome:
    h, w, s = image.height, image.width, image.scale
    hz = p.horizon * h
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    area_light = LIGHT_COLOURS[p.light]
    area_tint = (1 - p.tint) + p.tint * area_light

    lin = srgb_to_linear(image.pixels)
    # Illumination per pixel, in multiples of daylight, one map per source colour. The night sky is
    # far darker than lit ground, so bright areas high in the frame (the day sky) lose most of it.
    skyness = np.sqrt(np.clip((hz - yy) / max(hz, 1.0), 0.0, 1.0)) * np.clip((luminance(lin) - 0.3) / 0.4, 0.0, 1.0)
    ambient = p.exposure * (1.0 - 0.85 * skyness)
    below = np.clip((yy - hz) / max(h - hz, 1.0), 0.0, 1.0)
    cone = p.headlights * pm.power(below, 1.6) * pm.exp(-(((xx - w / 2) / (w * (0.12 + 0.4 * below))) ** 2))
    pools = np.zeros((h, w))
    lamps = []
    for _ in range(p.lamps):
        lx = float(rng.uniform(0.04, 0.96) * w)
        ly = float(rng.uniform(0.04, 0.85) * hz)
        ground_y = hz + (hz - ly) * 0.6
        spread_y = 0.07 * h + 0.3 * (hz - ly)
        pools += 0.35 * pm.exp(-(((xx - lx) / (0.11 * w)) ** 2) - (((yy - ground_y) / spread_y) ** 2))
        lamps.append((lx, ly))
    returns = np.zeros((h, w))
    for box in image.boxes:
        size = max(box[2] - box[0], box[3] - box[1])
        nearness = float(np.clip(size / (40.0 * s), 0.2, 1.0))
        _add_ellipse(returns, box, p.retroreflection * nearness, feather=0.6)

    light = (ambient + pools)[..., None] * area_tint + (cone + returns)[..., None] * LIGHT_COLOURS["halogen"]
    out = lin * light

    # Light sources seen directly: a hot core and a halo (veiling glare in the lens).
    emitted = np.zeros((h, w, 3))
    for lx, ly in lamps:
        emitted += area_light * (3.0 * radial_falloff(h, w, lx, ly, 1.6 * s, 4.0)
                                 + 0.12 * radial_falloff(h, w, lx, ly, 9.0 * s, 2.0))[..., None]
    oncoming = []
    for _ in range(p.oncoming):
        cx = float(rng.uniform(0.25, 0.75) * w)
        cy = float(hz + rng.uniform(0.0, 0.08) * h)
        spread = (cy - hz + 6.0 * s) * 0.9
        for side in (-1, 1):
            hx = cx + side * spread / 2
            emitted += LIGHT_COLOURS["halogen"] * (4.0 * radial_falloff(h, w, hx, cy, 1.4 * s, 4.0)
                                                   + 0.18 * radial_falloff(h, w, hx, cy, 12.0 * s, 2.0))[..., None]
        oncoming.append((cx, cy))
    out = out + emitted

    out = pm.power(np.clip(out, 0.0, None), p.gamma)
    bright = np.clip(out - 0.5, 0.0, None)
    out = out + p.bloom * 0.6 * blur(bright, 7.0 * s)

    srgb = linear_to_srgb(out)
    # The camera raises its gain to see in the dark: noise grows as the ambient light falls.
    gain = np.sqrt(REFERENCE_EXPOSURE / p.exposure)
    sigma = p.noise * gain * (0.55 + 0.45 * np.sqrt(luminance(srgb) / 255.0))
    grain = rng.normal(0.0, 1.0, (h, w, 1)) + 0.5 * rng.normal(0.0, 1.0, (h, w, 3))
    srgb = srgb + sigma[..., None] * grain
    drawn = {"gain": rounded(gain), "lamps": len(lamps), "oncoming": len(oncoming)}
    return TransformOutcome(np.clip(srgb, 0, 255), drawn=drawn)


NIGHT = TransformFamily(
    name="night",
    version="2",  # 2: CPU-independent math (gate.data.portable_math)
    summary="relit after dark: exposure drop, sodium/LED tint, headlights, lamps, bloom, gain noise",
    params_model=NightParams,
    severities=SEVERITIES,
    apply=apply_night,
)
