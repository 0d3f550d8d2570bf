"""Training views: native-resolution crops that keep signs, no flips, reproducible randomness."""

from __future__ import annotations

import numpy as np
import pytest

from gate.models.augment import geometric_view, photometric
from gate.cards.card import PreprocessingSpec
from gate.cards.recipe import GeometricSection, PhotometricSection


def _scene():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(480, 816, 3), dtype=np.uint8)
    boxes = np.asarray([[700, 100, 712, 112], [20, 400, 60, 440]], np.float32)  # a 12 px and a 40 px sign
    return image, boxes, np.asarray([2, 0])


def test_tiles_view_keeps_native_pixels_and_the_sign():
    image, boxes, labels = _scene()
    spec = PreprocessingSpec(input_size=(320, 320), resize="tiles", tile_overlap=80)
    settings = GeometricSection(scale_jitter=(1.0, 1.0), crop_around_sign_prob=1.0)
    for seed in range(10):
        view = geometric_view(image, boxes, labels, spec, settings, np.random.default_rng(seed))
        assert view.pixels.shape == (320, 320, 3)
        assert len(view.boxes) >= 1
        sides = view.boxes[:, 2:] - view.boxes[:, :2]
        # Scale 1: a kept sign keeps its native size (12 or 40 px), it is not shrunk with the frame.
        assert set(np.round(sides.max(axis=1)).tolist()) <= {12.0, 40.0}
        assert (view.boxes >= 0).all() and (view.boxes <= 320).all()


def test_view_pixels_are_the_cropped_source():
    image, boxes, labels = _scene()
    spec = PreprocessingSpec(input_size=(320, 320), resize="tiles", tile_overlap=80)
    settings = GeometricSection(scale_jitter=(1.0, 1.0), crop_around_sign_prob=1.0)
    view = geometric_view(image, boxes[:1], labels[:1], spec, settings, np.random.default_rng(3))
    x0 = int(round(boxes[0, 0] - view.boxes[0, 0]))
    y0 = int(round(boxes[0, 1] - view.boxes[0, 1]))
    np.testing.assert_array_equal(view.pixels, image[y0:y0 + 320, x0:x0 + 320])  # not mirrored


def test_stretch_view_scales_boxes_with_the_frame():
    image, boxes, labels = _scene()
    spec = PreprocessingSpec(input_size=(240, 408))  # half size
    settings = GeometricSection(scale_jitter=(1.0, 1.0), crop_around_sign_prob=0.0)
    view = geometric_view(image, boxes, labels, spec, settings, np.random.default_rng(0))
    np.testing.assert_allclose(view.boxes, boxes / 2, atol=1e-4)
    assert view.labels.tolist() == [2, 0]


def test_mostly_hidden_signs_are_dropped():
    image, boxes, labels = _scene()
    spec = PreprocessingSpec(input_size=(320, 320), resize="tiles", tile_overlap=80)
    settings = GeometricSection(scale_jitter=(1.0, 1.0), crop_around_sign_prob=0.0, min_visible_fraction=0.6)
    for seed in range(20):
        view = geometric_view(image, boxes, labels, spec, settings, np.random.default_rng(seed))
        sides = view.boxes[:, 2:] - view.boxes[:, :2]
        # A kept 40 px sign shows at least 60 % of its area.
        assert all(w * h >= 0.6 * 40 * 40 - 1e-3 for w, h in sides if max(w, h) > 13)


@pytest.mark.parametrize("field", ["night_prob", "rain_prob", "fog_prob", "blur_prob"])
def test_photometric_is_reproducible_and_changes_pixels(field):
    image, _, _ = _scene()
    settings = PhotometricSection(**{field: 1.0})
    first = photometric(image, settings, np.random.default_rng(7))
    second = photometric(image, settings, np.random.default_rng(7))
    assert first.dtype == np.uint8 and first.shape == image.shape
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, photometric(image, PhotometricSection(), np.random.default_rng(7)))


def test_night_darkens():
    image, _, _ = _scene()
    night = photometric(image, PhotometricSection(brightness=0, contrast=0, saturation=0, night_prob=1.0),
                        np.random.default_rng(1))
    assert night.mean() < 0.7 * image.mean()
