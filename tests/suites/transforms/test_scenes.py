"""What each weather/light transform must do to a picture, beyond "something changed"."""

from __future__ import annotations

import numpy as np

from gate.suites.transforms.base import RenderInput, luminance
from gate.suites.transforms.blur import line_kernel
from gate.suites.transforms.registry import get_transform
from tests.suites.conftest import scene_pixels


def apply(name: str, severity: int, pixels: np.ndarray, boxes=(), seed: int = 0, **overrides) -> np.ndarray:
    family = get_transform(name)
    return family.apply(RenderInput(pixels.astype(np.float64), list(boxes)), family.resolve(severity, overrides),
                        np.random.default_rng(seed)).pixels


def test_night_is_dark_tinted_and_noisy():
    day = scene_pixels(3).astype(np.float64)
    night = apply("night", 3, day, lamps=0, oncoming=0)
    assert luminance(night).mean() < 0.35 * luminance(day).mean()
    # Sodium light: red over blue on average; the sky (top rows) darker than the lit road (bottom rows).
    assert night[..., 0].mean() > night[..., 2].mean()
    assert luminance(night[:20]).mean() < luminance(night[-20:]).mean()
    flat = apply("night", 3, np.full_like(day, 120.0), lamps=0, oncoming=0)
    assert flat[60:, 40:120].std() > 1.0  # sensor noise on a flat surface


def test_night_lamps_glow():
    day = scene_pixels(3).astype(np.float64)
    with_lamps = apply("night", 3, day, lamps=4, oncoming=2, seed=1)
    without = apply("night", 3, day, lamps=0, oncoming=0, seed=1)
    assert with_lamps.max() > without.max() + 40


def test_signs_return_headlight_light_at_night():
    day = np.full((100, 160, 3), 90.0)
    box = (100.0, 20.0, 130.0, 50.0)
    lit = apply("night", 3, day, boxes=[box], lamps=0, oncoming=0, noise=0.0)
    unlit = apply("night", 3, day, boxes=[box], lamps=0, oncoming=0, noise=0.0, retroreflection=0.0)
    assert lit[30:40, 110:120].mean() > unlit[30:40, 110:120].mean() + 20


def test_fog_fades_small_far_signs_more_than_big_near_ones():
    pixels = np.full((100, 160, 3), 60.0)
    near, far = (10.0, 20.0, 50.0, 60.0), (120.0, 30.0, 130.0, 40.0)
    for x0, y0, x1, y1 in (near, far):
        pixels[int(y0):int(y1), int(x0):int(x1)] = [220, 20, 20]
    fogged = apply("fog", 3, pixels, boxes=[near, far], sky=False)

    def contrast(box):
        x0, y0, x1, y1 = (int(v) for v in box)
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
        return float(fogged[cy, cx, 0] - fogged[cy, cx, 2])

    assert contrast(far) < 0.8 * contrast(near)
    assert contrast(near) < 200  # even the near sign loses some


def test_fog_with_a_depth_map():
    pixels = np.full((40, 60, 3), 50.0)
    family = get_transform("fog")
    depth = np.tile(np.linspace(5, 500, 60), (40, 1))
    out = family.apply(RenderInput(pixels, [], depth), family.resolve(3, {"depth": "map"}),
                       np.random.default_rng(0)).pixels
    assert out[:, -1].mean() > out[:, 0].mean() + 100  # far columns are nearly airlight


def test_rain_lowers_contrast_and_adds_streaks():
    day = scene_pixels(4).astype(np.float64)
    rain = apply("rain", 4, day, drops=0)
    assert rain.std() < day.std() * 1.2
    # Streaks: many short bright lines, i.e. more high-frequency energy in the vertical direction.
    assert np.abs(np.diff(rain, axis=1)).mean() > 0.5


def test_low_resolution_removes_fine_detail():
    checker = (np.indices((100, 160)).sum(axis=0) % 2 * 255.0)[..., None].repeat(3, axis=2)
    out = apply("low_resolution", 2, checker)
    assert out.std() < 0.2 * checker.std()


def test_motion_blur_kernel_is_a_normalised_line():
    kernel = line_kernel(9, 0.0)
    assert kernel.sum() == np.float64(1.0) or abs(kernel.sum() - 1.0) < 1e-12
    centre = kernel.shape[0] // 2
    assert kernel[centre].sum() > 0.95  # horizontal: the weight lies on the middle row


def test_glare_brightens():
    day = scene_pixels(5).astype(np.float64)
    assert apply("glare", 3, day).mean() > day.mean() + 20
