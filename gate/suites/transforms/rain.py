"""Rain: falling streaks, drops on the lens, a veil over the scene and a wet, darker road.

Streaks are drawn in two depth layers (near: long, wide, few; far: short, thin, many) as segments
whose brightness fades along their length, the look of a drop smeared by the exposure time (motion
blur along the fall direction), then softened. Drops stuck to the windscreen are discs in which the
scene is heavily blurred. Rainy light is flat: contrast drops towards a grey veil and colours fade;
the road below the horizon darkens as wet asphalt does.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from pydantic import Field

from gate.data import portable_math as pm
from gate.suites.transforms.base import (
    RenderInput,
    TransformFamily,
    TransformOutcome,
    TransformParams,
    blur,
    luminance,
    rounded,
)


class RainParams(TransformParams):
    streaks: int = Field(ge=0, le=20000, description="streaks per 640x400 px of image")
    length: float = Field(gt=0, le=200, description="length of a near streak, px at 640 px width")
    angle: float = Field(ge=-60, le=60, description="mean fall direction, degrees from vertical")
    angle_jitter: float = Field(5.0, ge=0, le=45, description="per-image spread of the fall direction, degrees")
    brightness: float = Field(ge=0, le=1, description="opacity of a streak's core")
    drops: int = Field(ge=0, le=200, description="drops on the lens")
    drop_radius: float = Field(ge=0, le=120, description="largest lens-drop radius, px at 640 px width")
    contrast_loss: float = Field(ge=0, lt=1, description="fraction of contrast lost to the grey veil")
    desaturate: float = Field(ge=0, le=1, description="fraction of colour saturation lost")
    wet_road: float = Field(ge=0, le=1, description="darkening of the road (rows below the horizon)")
    horizon: float = Field(0.5, ge=0.05, le=0.95, description="horizon row as a fraction of the height")


SEVERITIES = {
    1: dict(streaks=250, length=18, angle=8, brightness=0.25, drops=2, drop_radius=10, contrast_loss=0.1,
            desaturate=0.15, wet_road=0.1),
    2: dict(streaks=500, length=24, angle=10, brightness=0.32, drops=4, drop_radius=14, contrast_loss=0.18,
            desaturate=0.25, wet_road=0.18),
    3: dict(streaks=900, length=30, angle=12, brightness=0.4, drops=7, drop_radius=18, contrast_loss=0.27,
            desaturate=0.35, wet_road=0.26),
    4: dict(streaks=1500, length=38, angle=14, brightness=0.48, drops=11, drop_radius=24, contrast_loss=0.36,
            desaturate=0.45, wet_road=0.33),
    5: dict(streaks=2400, length=46, angle=16, brightness=0.56, drops=16, drop_radius=30, contrast_loss=0.45,
            desaturate=0.55, wet_road=0.4),
}


def _streak_layer(rng: np.random.Generator, h: int, w: int, count: int, length: float, width: int,
                  angle_deg: float, fade_steps: int = 6) -> np.ndarray:
    """A (H, W) 0..1 layer of streaks: each segment brightest at its head, fading towards its tail."""
    layer = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(layer)
    direction = np.array([pm.sin(np.radians(angle_deg)), pm.cos(np.radians(angle_deg))])
    heads = rng.uniform([-0.1 * w, -0.1 * h], [1.1 * w, 1.1 * h], size=(count, 2))
    lengths = length * rng.uniform(0.6, 1.3, size=count)
    strengths = rng.uniform(0.5, 1.0, size=count)
    for (x, y), ln, st in zip(heads, lengths, strengths, strict=True):
        # Draw the tail first, the head last, each piece a little brighter: a smeared drop.
        for k in range(fade_steps):
            t0, t1 = k / fade_steps, (k + 1) / fade_steps
            tail = (x - direction[0] * ln * (1 - t0), y - direction[1] * ln * (1 - t0))
            head = (x - direction[0] * ln * (1 - t1), y - direction[1] * ln * (1 - t1))
            draw.line([tail, head], fill=int(255 * st * (0.25 + 0.75 * t1)), width=width)
    return np.asarray(layer, dtype=np.float64) / 255.0


def apply_rain(image: RenderInput, p: RainParams, rng: np.random.Generator) -> TransformOutcome:
    h, w, s = image.height, image.width, image.scale
    out = image.pixels.copy()
    hz = p.horizon * h

    # Flat light: pull towards a grey veil (brighter at the horizon) and fade the colours.
    grey = luminance(out)[..., None]
    out = grey + (out - grey) * (1.0 - p.desaturate)
    rows = np.arange(h, dtype=np.float64)[:, None, None]
    veil = float(np.mean(out)) * 0.6 + 90.0 + 25.0 * pm.exp(-(((rows - hz) / (0.25 * h)) ** 2))
    out = out * (1.0 - p.contrast_loss) + veil * p.contrast_loss

    # Wet asphalt reflects less diffuse light: darken rows below the horizon, more towards the camera.
    below = np.clip((rows - hz) / max(h - hz, 1.0), 0.0, 1.0)
    out = out * (1.0 - p.wet_road * (0.4 + 0.6 * below))

    # Lens drops: the scene seen through water, smeared and a little brighter, with a darker rim.
    drops = []
    if p.drops and p.drop_radius > 0:
        smeared = blur(out, 4.0 * s) * 1.08 + 6.0
        for _ in range(p.drops):
            r = float(rng.uniform(0.35, 1.0) * p.drop_radius * s)
            cx, cy = float(rng.uniform(0, w)), float(rng.uniform(0, h))
            r0, r1 = max(0, int(cy - r) - 2), min(h, int(cy + r) + 3)
            c0, c1 = max(0, int(cx - r) - 2), min(w, int(cx + r) + 3)
            yy, xx = np.mgrid[r0:r1, c0:c1]
            d = pm.hypot(xx + 0.5 - cx, yy + 0.5 - cy) / r
            inside = np.clip((1.0 - d) * 4.0, 0.0, 1.0)[..., None]
            rim = np.clip(1.0 - np.abs(d - 0.95) * 8.0, 0.0, 1.0)[..., None]
            window = out[r0:r1, c0:c1] * (1 - inside) + smeared[r0:r1, c0:c1] * inside
            out[r0:r1, c0:c1] = window * (1 - 0.25 * rim)
            drops.append((cx, cy, r))

    # Streaks, far layer then near layer, both with the same fall direction.
    angle = float(p.angle + rng.uniform(-p.angle_jitter, p.angle_jitter))
    area = (h * w) / (640.0 * 400.0)
    far = _streak_layer(rng, h, w, int(round(p.streaks * 0.7 * area)), 0.45 * p.length * s, 1, angle)
    near_width = max(1, int(round(1.6 * s)))
    near = _streak_layer(rng, h, w, int(round(p.streaks * 0.3 * area)), p.length * s, near_width, angle)
    streaks = blur(np.clip(0.6 * far + near, 0.0, 1.0), 0.5 * s)[..., None]
    colour = np.maximum(out, 200.0)
    alpha = p.brightness * streaks
    out = out * (1 - alpha) + colour * alpha
    return TransformOutcome(np.clip(out, 0, 255), drawn={"angle": rounded(angle, 2), "drops": len(drops)})


RAIN = TransformFamily(
    name="rain",
    version="2",  # 2: CPU-independent math (gate.data.portable_math)
    summary="rain: motion-blurred streaks, lens drops, contrast and colour loss, wet road",
    params_model=RainParams,
    severities=SEVERITIES,
    apply=apply_rain,
)
