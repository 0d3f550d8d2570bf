"""Training views: scale jitter and crops at native resolution, then photometric changes.

A training view is rendered the way inference sees an image (the card's resize mode decides the
base scale: stretch and letterbox fit the frame to the input, tiles keep native pixels), times a
random scale jitter, then an input-sized window is cut, most of the time around a sign so that
small signs are seen often and at their real size. Everything random comes from the `rng` passed
in, so a view is a pure function of (image, boxes, settings, rng state).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from gate.backends.preprocess import crop_pad, resize_rgb
from gate.cards.card import PreprocessingSpec
from gate.cards.recipe import GeometricSection, PhotometricSection


@dataclass(frozen=True)
class TrainingView:
    pixels: np.ndarray  # (H, W, 3) uint8 at the model's input size
    boxes: np.ndarray  # (N, 4) float32 xyxy in input pixels
    labels: np.ndarray  # (N,) int64 class indices


def _base_scale(source: tuple[int, int], spec: PreprocessingSpec) -> tuple[float, float]:
    in_h, in_w = spec.input_size
    if spec.resize == "stretch":
        return in_w / source[1], in_h / source[0]
    if spec.resize == "letterbox":
        scale = min(in_h / source[0], in_w / source[1])
        return scale, scale
    return 1.0, 1.0


def _window_start(rng: np.random.Generator, extent: int, window: int, box_lo: float | None, box_hi: float | None) -> int:
    """Start of a window of `window` px on an axis of `extent` px, containing [box_lo, box_hi] if given."""
    lo, hi = min(0, extent - window), max(0, extent - window)
    if box_lo is not None:
        want_lo = max(lo, math.ceil(box_hi - window))
        want_hi = min(hi, math.floor(box_lo))
        if want_lo <= want_hi:
            lo, hi = want_lo, want_hi
        else:  # the sign is larger than the window: centre on it
            centre = int(round((box_lo + box_hi) / 2 - window / 2))
            return min(max(centre, lo), hi)
    return int(rng.integers(lo, hi + 1))


def geometric_view(
    image: np.ndarray,
    boxes: np.ndarray,
    labels: np.ndarray,
    spec: PreprocessingSpec,
    settings: GeometricSection,
    rng: np.random.Generator,
) -> TrainingView:
    """Scale-jittered, input-sized window of a source image (boxes clipped, mostly-hidden ones dropped)."""
    in_h, in_w = spec.input_size
    base_x, base_y = _base_scale(image.shape[:2], spec)
    low, high = settings.scale_jitter
    jitter = float(math.exp(rng.uniform(math.log(low), math.log(high)))) if high > low else low
    scale_x, scale_y = base_x * jitter, base_y * jitter
    new_h = max(1, round(image.shape[0] * scale_y))
    new_w = max(1, round(image.shape[1] * scale_x))
    resized = resize_rgb(image, (new_h, new_w), spec.interpolation)
    factors = np.asarray([new_w / image.shape[1], new_h / image.shape[0]] * 2, dtype=np.float32)
    scaled = boxes.astype(np.float32).reshape(-1, 4) * factors

    around = len(scaled) > 0 and rng.random() < settings.crop_around_sign_prob
    if around:
        x1, y1, x2, y2 = scaled[int(rng.integers(len(scaled)))].tolist()
        x0 = _window_start(rng, new_w, in_w, x1, x2)
        y0 = _window_start(rng, new_h, in_h, y1, y2)
    else:
        x0 = _window_start(rng, new_w, in_w, None, None)
        y0 = _window_start(rng, new_h, in_h, None, None)
    pixels = crop_pad(resized, x0, y0, in_h, in_w, spec.pad_value)

    shifted = scaled - np.asarray([x0, y0, x0, y0], dtype=np.float32)
    # Visible part: inside both the window and the resized image (padding is not the sign).
    lo = np.asarray([max(0, -x0), max(0, -y0)] * 2, dtype=np.float32)
    hi = np.asarray([min(in_w, new_w - x0), min(in_h, new_h - y0)] * 2, dtype=np.float32)
    clipped = np.clip(shifted, lo, hi)
    area = lambda b: np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)  # noqa: E731
    full = area(shifted)
    visible = np.divide(area(clipped), full, out=np.zeros_like(full), where=full > 0)
    sides = np.minimum(clipped[:, 2] - clipped[:, 0], clipped[:, 3] - clipped[:, 1])
    keep = (visible >= settings.min_visible_fraction) & (sides >= settings.min_box_size)
    return TrainingView(pixels, clipped[keep].astype(np.float32), labels.reshape(-1)[keep].astype(np.int64))


def _grey(values: np.ndarray) -> np.ndarray:
    return values @ np.asarray([0.299, 0.587, 0.114], dtype=np.float32)


def _rain(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    height, width = pixels.shape[:2]
    layer = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(layer)
    count = int(rng.integers(width * height // 2000, width * height // 700 + 1))
    slant = float(rng.uniform(-0.35, 0.35))
    for _ in range(count):
        x, y = float(rng.uniform(0, width)), float(rng.uniform(0, height))
        length = float(rng.uniform(8, 22))
        draw.line([(x, y), (x + slant * length, y + length)], fill=int(rng.integers(90, 200)), width=1)
    streaks = np.asarray(layer.filter(ImageFilter.GaussianBlur(0.6)), dtype=np.float32)[..., None] / 255.0
    dimmed = pixels * float(rng.uniform(0.7, 0.9)) + float(rng.uniform(10, 30))
    return dimmed * (1 - 0.6 * streaks) + 220.0 * 0.6 * streaks


def _blur(pixels: np.ndarray, radius: float) -> np.ndarray:
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return np.asarray(image.filter(ImageFilter.GaussianBlur(radius)), dtype=np.float32)


def photometric(pixels: np.ndarray, settings: PhotometricSection, rng: np.random.Generator) -> np.ndarray:
    """Colour jitter and optional night / rain / fog renditions of an RGB uint8 view."""
    values = pixels.astype(np.float32)
    # Draw every random number in a fixed order whatever is enabled, so that changing one
    # probability does not reshuffle the others' streams.
    draws = rng.random(8)
    if settings.brightness:
        values *= 1 + settings.brightness * (2 * draws[0] - 1)
    if settings.contrast:
        mean = float(_grey(values).mean())
        values = (values - mean) * (1 + settings.contrast * (2 * draws[1] - 1)) + mean
    if settings.saturation:
        grey = _grey(values)[..., None]
        values = grey + (values - grey) * (1 + settings.saturation * (2 * draws[2] - 1))
    if draws[3] < settings.night_prob:
        gamma = float(rng.uniform(1.6, 2.8))
        values = 255.0 * np.power(np.clip(values, 0, 255) / 255.0, gamma)
        values *= np.asarray([0.85, 0.9, 1.1], dtype=np.float32) * float(rng.uniform(0.6, 1.0))
        values += rng.normal(0, float(rng.uniform(2, 6)), values.shape).astype(np.float32)
    if draws[4] < settings.rain_prob:
        values = _blur(_rain(np.clip(values, 0, 255), rng), 0.7)
    if draws[5] < settings.fog_prob:
        veil = float(rng.uniform(170, 230))
        values = values * (1 - (alpha := float(rng.uniform(0.25, 0.6)))) + veil * alpha
    if draws[6] < settings.blur_prob:
        values = _blur(values, float(rng.uniform(0.4, 1.2)))
    if settings.noise_std and draws[7] < 0.5:
        values += rng.normal(0, float(rng.uniform(0, settings.noise_std)), values.shape).astype(np.float32)
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)
