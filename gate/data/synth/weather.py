"""Time of day, weather and the camera: what turns a painted scene into a photograph.

Applied after signs and occluders are composited, in this order: lighting (day exposure, dusk, night
with retroreflective signs and glowing lamps), weather (overcast flattening, rain with streaks and a
wet road, fog by depth), then the camera (blur, sensor noise that grows with gain).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from gate.data import portable_math as pm
from gate.data.synth.scene import FAR_DEPTH, LightSource

TIMES = ("day", "dusk", "night")
WEATHERS = ("clear", "overcast", "rain", "fog")


@dataclass(frozen=True)
class LightingInputs:
    """What the effects need besides the image: per-pixel depth, sky and sign masks, light sources."""

    depth: np.ndarray  # (H, W) metres
    sky: np.ndarray  # (H, W) bool
    signs: np.ndarray  # (H, W) 0..1 visible sign coverage (retroreflective paint)
    road: np.ndarray  # (H, W) bool
    lights: list[LightSource]


def _glow(height: int, width: int, lights: list[LightSource], scale: float) -> np.ndarray:
    """Sum of Gaussian halos around the light sources, (H, W, 3) in 0..255 units."""
    out = np.zeros((height, width, 3), np.float32)
    for light in lights:
        # Capped so that a headlight next to the camera blooms without washing out the frame.
        r = min(max(1.5, light.radius * scale), 0.05 * width * scale)
        x0, x1 = int(max(0, light.x - 3 * r)), int(min(width, light.x + 3 * r + 1))
        y0, y1 = int(max(0, light.y - 3 * r)), int(min(height, light.y + 3 * r + 1))
        if x1 <= x0 or y1 <= y0:
            continue
        xs = np.arange(x0, x1, dtype=np.float32) - light.x
        ys = np.arange(y0, y1, dtype=np.float32) - light.y
        blob = pm.exp(-(ys[:, None] ** 2 + xs[None, :] ** 2) / (2 * r * r)).astype(np.float32) * light.strength
        out[y0:y1, x0:x1] += blob[..., None] * np.array(light.color, np.float32)
    return out


def _desaturate(image: np.ndarray, amount: float) -> np.ndarray:
    grey = image.mean(axis=2, keepdims=True)
    return image * (1 - amount) + grey * amount


def apply_lighting(rng: np.random.Generator, image: np.ndarray, time: str, inputs: LightingInputs) -> np.ndarray:
    """Exposure and colour of the light: bright day, warm dim dusk, dark night with lit signs and lamps."""
    height, width = image.shape[:2]
    ground = ~inputs.sky
    if time == "day":
        return image * float(rng.uniform(0.85, 1.12))
    if time == "dusk":
        level = float(rng.uniform(0.45, 0.65))
        tint = np.array([1.0, 0.86, 0.7], np.float32)
        illum = np.where(ground, level, 1.0).astype(np.float32)
        illum = np.maximum(illum, inputs.signs * 0.8)  # headlights already pick out the signs
        lit = image * illum[..., None] * np.where(ground[..., None], tint, 1.0)
        return lit + _glow(height, width, inputs.lights, 1.0) * 0.35
    # Night: a weak ambient level, headlights lighting the road and anything low and near,
    # retroreflective sign faces returning much of the headlight beam, and glowing lamps.
    ambient = float(rng.uniform(0.07, 0.14))
    rows = np.arange(height, dtype=np.float32)[:, None] / height
    cols = np.arange(width, dtype=np.float32)[None, :] / width
    beam = pm.exp(-((cols - 0.5) ** 2) / 0.08).astype(np.float32) * np.clip((rows - 0.55) / 0.45, 0, 1) * float(rng.uniform(0.5, 0.9))
    near = np.clip(8.0 / np.maximum(inputs.depth, 1.0), 0, 1)
    retro = float(rng.uniform(0.45, 0.85))
    illum = np.where(ground, ambient + beam, 1.0).astype(np.float32)
    illum = np.maximum(illum, inputs.signs * retro * (0.7 + 0.3 * near))
    tint = np.array([0.85, 0.9, 1.05], np.float32)
    lit = image * illum[..., None] * np.where(ground[..., None], tint, 1.0)
    return lit + _glow(height, width, inputs.lights, 1.0)


def apply_weather(rng: np.random.Generator, image: np.ndarray, time: str, weather: str,
                  inputs: LightingInputs) -> np.ndarray:
    """Overcast (flat, grey), rain (streaks, wet road, lens blur) or fog (contrast lost with depth)."""
    height, width = image.shape[:2]
    if weather == "clear":
        return image
    if weather == "overcast":
        mean = image.mean()
        return _desaturate(mean + (image - mean) * float(rng.uniform(0.78, 0.9)), 0.25)
    if weather == "rain":
        mean = image.mean()
        out = _desaturate(mean + (image - mean) * float(rng.uniform(0.7, 0.85)), 0.3)
        wet = inputs.road[..., None] & ~inputs.sky[..., None]
        out = np.where(wet, out * 0.78, out)
        if time != "day":  # light sources smear into long reflections on the wet road
            reflections = [LightSource(s.x, min(height - 1.0, s.y + 3 * s.radius + 6), s.radius * 1.6, s.color,
                                       s.strength * 0.4) for s in inputs.lights]
            out = out + _glow(height, width, reflections, 1.0) * inputs.road[..., None]
        out = _blur(out, float(rng.uniform(0.5, 0.9)))
        return _rain_streaks(rng, out, time)
    if weather == "fog":
        visibility = float(rng.uniform(35.0, 110.0))  # metres at which contrast falls to 5 %
        transmission = pm.exp(-3.0 * np.minimum(inputs.depth, FAR_DEPTH) / visibility).astype(np.float32)[..., None]
        fog_color = {"day": (202, 204, 206), "dusk": (170, 152, 140), "night": (34, 34, 38)}[time]
        fogged = image * transmission + np.array(fog_color, np.float32) * (1 - transmission)
        if time != "day":  # fog scatters lamp light into wide halos
            fogged = fogged + _glow(height, width, inputs.lights, 2.0) * 0.35
        return fogged
    raise ValueError(f"unknown weather {weather!r}; expected one of {WEATHERS}")


def _rain_streaks(rng: np.random.Generator, image: np.ndarray, time: str) -> np.ndarray:
    height, width = image.shape[:2]
    layer = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(layer)
    angle = float(rng.uniform(-0.3, 0.3))
    count = int(rng.integers(250, 700))
    xs = rng.uniform(-20, width + 20, count)
    ys = rng.uniform(-20, height, count)
    lengths = rng.uniform(6, 22, count)
    shades = rng.integers(90, 200, count)
    for x, y, length, shade in zip(xs, ys, lengths, shades, strict=True):
        draw.line([(x, y), (x + angle * length, y + length)], fill=int(shade), width=1)
    streaks = np.asarray(layer.filter(ImageFilter.GaussianBlur(0.6)), np.float32)[..., None] / 255.0
    brightness = {"day": 215.0, "dusk": 170.0, "night": 110.0}[time]
    strength = float(rng.uniform(0.35, 0.6))
    return image * (1 - streaks * strength) + brightness * streaks * strength


def _blur(image: np.ndarray, radius: float) -> np.ndarray:
    if radius <= 0.05:
        return image
    pil = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8), "RGB")
    return np.asarray(pil.filter(ImageFilter.GaussianBlur(radius)), np.float32)


def apply_camera(rng: np.random.Generator, image: np.ndarray, time: str) -> np.ndarray:
    """Slight defocus and sensor noise (more gain, more noise at night), then quantise to uint8."""
    image = _blur(image, float(rng.uniform(0.0, 0.45)))
    sigma = {"day": 2.0, "dusk": 3.5, "night": 5.5}[time] * float(rng.uniform(0.7, 1.3))
    height, width = image.shape[:2]
    luma = rng.standard_normal((height, width, 1), dtype=np.float32) * sigma
    chroma = rng.standard_normal((height, width, 3), dtype=np.float32) * (sigma * 0.4)
    return np.clip(image + luma + chroma + 0.5, 0, 255).astype(np.uint8)
