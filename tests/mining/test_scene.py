"""Scene statistics: the ramps, planted images, and the conditions of the generated world."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from gate.mining.scene import ramp, scene_statistics, scene_strengths


@pytest.mark.parametrize(
    ("value", "full", "zero", "expected"),
    [
        (10, 30, 90, 1.0),  # beyond the full end
        (30, 30, 90, 1.0),
        (60, 30, 90, 0.5),  # halfway
        (90, 30, 90, 0.0),
        (200, 30, 90, 0.0),
        (0.2, 0.33, 0.58, 1.0),  # falling ramp with fractions
        (0.455, 0.33, 0.58, 0.5),
    ],
)
def test_ramp(value, full, zero, expected):
    assert ramp(value, full, zero) == pytest.approx(expected)


def _textured(seed: int = 0, size: tuple[int, int] = (320, 512)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 256, size=(size[0] // 16, size[1] // 16, 3), dtype=np.uint8)
    return np.kron(cells, np.ones((16, 16, 1), dtype=np.uint8))


def test_flat_grey_image_is_low_contrast_and_soft_but_not_dark():
    strengths = scene_strengths(scene_statistics(np.full((320, 512, 3), 128, np.uint8)))
    assert strengths["low_contrast"] == 1.0
    assert strengths["blur"] == 1.0
    assert strengths["dark"] == 0.0


def test_darkening_raises_only_the_dark_signal_first():
    bright = _textured()
    dark = (bright * 0.12).astype(np.uint8)
    a, b = scene_strengths(scene_statistics(bright)), scene_strengths(scene_statistics(dark))
    assert a["dark"] == 0.0 and b["dark"] == 1.0


def test_gaussian_blur_raises_the_blur_signal():
    sharp = _textured()
    soft = np.asarray(Image.fromarray(sharp).filter(ImageFilter.GaussianBlur(4)))
    stats_sharp, stats_soft = scene_statistics(sharp), scene_statistics(soft)
    assert stats_soft.laplacian_variance < stats_sharp.laplacian_variance / 10
    assert scene_strengths(stats_soft)["blur"] > scene_strengths(stats_sharp)["blur"] + 0.5


def test_a_grey_veil_lowers_the_haze_transmission():
    clear = _textured()
    veiled = (clear.astype(np.float32) * 0.35 + 0.65 * 205.0).astype(np.uint8)  # I = J t + A (1 - t)
    t_clear, t_veiled = scene_statistics(clear).haze_transmission, scene_statistics(veiled).haze_transmission
    assert t_veiled < t_clear - 0.3
    assert scene_strengths(scene_statistics(veiled))["haze"] == 1.0


def test_statistics_do_not_depend_on_resolution():
    image = _textured()
    double = np.asarray(Image.fromarray(image).resize((1024, 640), Image.Resampling.NEAREST))
    a, b = scene_statistics(image), scene_statistics(double)
    assert b.mean_luminance == pytest.approx(a.mean_luminance, abs=0.5)
    assert b.haze_transmission == pytest.approx(a.haze_transmission, abs=0.02)


def test_world_conditions_show_in_the_scene_signals(world_run):
    """Night scenes are dark, fog scenes hazy, clean daylight neither (generated world, seed 31)."""
    by_condition: dict[str, list] = {}
    for img in world_run.result.images:
        key = "night" if img.tags["time"] == "night" else img.tags["weather"] if img.tags["time"] == "day" else "dusk"
        by_condition.setdefault(key, []).append(img.signals)
    night, fog, clean = by_condition["night"], by_condition["fog"], by_condition["clear"]
    assert len(night) == 6 and len(fog) == 7 and len(clean) == 30
    assert all(s["dark"] == 1.0 for s in night)
    assert all(s["dark"] == 0.0 for s in clean)
    assert min(s["haze"] for s in fog) > 0.5  # every daytime fog scene
    assert np.mean([s["haze"] for s in clean]) < 0.05
    assert max(s["haze"] for s in clean) < min(s["haze"] for s in fog)
