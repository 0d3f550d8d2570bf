"""Every transform family: deterministic per seed, stronger with severity, valid pixels out."""

from __future__ import annotations

import numpy as np
import pytest

from gate.suites.transforms.base import RenderInput
from gate.suites.transforms.registry import TRANSFORMS, get_transform, transform_versions
from tests.suites.conftest import scene_pixels

# Families that draw random values (the rest are deterministic functions of the pixels alone).
RANDOM_FAMILIES = {"night", "rain", "occlusion", "motion_blur", "glare"}
BOXES = [(20.0, 20.0, 42.0, 42.0), (110.0, 30.0, 119.0, 39.0), (60.0, 10.0, 90.0, 40.0)]


def picture() -> np.ndarray:
    pixels = scene_pixels(11).astype(np.float64)
    for x0, y0, x1, y1 in BOXES:  # sign-like patches with edges for blur and low resolution to act on
        pixels[int(y0):int(y1), int(x0):int(x1)] = [200, 30, 30]
        pixels[int(y0) + 3:int(y1) - 3, int(x0) + 3:int(x1) - 3] = [250, 250, 250]
    return pixels


def run(name: str, severity: int, seed: int) -> np.ndarray:
    family = get_transform(name)
    image = RenderInput(picture(), list(BOXES))
    return family.apply(image, family.resolve(severity), np.random.default_rng(seed)).pixels


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_same_seed_same_pixels(name):
    assert np.array_equal(run(name, 3, seed=5), run(name, 3, seed=5))


@pytest.mark.parametrize("name", sorted(RANDOM_FAMILIES))
def test_other_seed_other_pixels(name):
    assert not np.array_equal(run(name, 3, seed=5), run(name, 3, seed=6))


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_higher_severity_changes_more(name):
    source = picture()
    change = [float(np.mean(np.abs(run(name, s, seed=5) - source))) for s in (1, 2, 3, 4, 5)]
    assert all(a < b for a, b in zip(change, change[1:], strict=False)), change
    assert change[0] > 0.5  # even severity 1 visibly changes the image


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_output_shape_and_range(name):
    out = run(name, 5, seed=1)
    assert out.shape == picture().shape
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 255


def test_registry_lists_the_seven_families():
    assert set(TRANSFORMS) == {"night", "rain", "fog", "occlusion", "motion_blur", "glare", "low_resolution"}
    assert transform_versions() == {name: TRANSFORMS[name].version for name in sorted(TRANSFORMS)}


def test_unknown_transform_names_the_known_ones():
    with pytest.raises(KeyError, match="known: fog, glare"):
        get_transform("snow")


@pytest.mark.parametrize("severity", [0, 6, -1])
def test_bad_severity(severity):
    with pytest.raises(ValueError, match="severity must be one of"):
        get_transform("fog").resolve(severity)


def test_overrides_are_validated():
    family = get_transform("night")
    assert family.resolve(2, {"light": "led"}).light == "led"
    with pytest.raises(ValueError, match="night parameter light"):
        family.resolve(2, {"light": "candle"})
