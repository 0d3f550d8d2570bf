"""Backbone pretraining crops: signs at native size, background windows free of signs."""

from __future__ import annotations

import numpy as np

from gate.models.backbone_pretraining import DecodedImageCache, _background_crop, _sign_crop
from gate.cards.recipe import BackbonePretrainingSection


def _frame():
    image = np.zeros((320, 512, 3), np.uint8)
    image[100:120, 200:220] = 255  # a 20 px "sign"
    return image, np.asarray([[200, 100, 220, 120]], np.float32)


def test_sign_crop_shows_the_sign_at_native_size():
    image, boxes = _frame()
    settings = BackbonePretrainingSection(steps=1, crop_size=64, scale_jitter=(1.0, 1.0))
    crop = _sign_crop(image, boxes[0], settings, "bilinear", np.random.default_rng(0))
    assert crop.shape == (64, 64, 3)
    rows, cols = np.nonzero(crop[..., 0] == 255)
    assert rows.max() - rows.min() + 1 == 20 and cols.max() - cols.min() + 1 == 20


def test_large_signs_are_shrunk_to_fit_the_crop():
    image = np.zeros((320, 512, 3), np.uint8)
    image[50:170, 100:220] = 200  # 120 px
    settings = BackbonePretrainingSection(steps=1, crop_size=64, scale_jitter=(1.0, 1.0))
    crop = _sign_crop(image, np.asarray([100, 50, 220, 170], np.float32), settings, "bilinear",
                      np.random.default_rng(1))
    rows, _ = np.nonzero(crop[..., 0] > 100)
    assert rows.max() - rows.min() + 1 <= 57  # 0.875 of the crop


def test_background_crop_never_centres_a_sign():
    image, boxes = _frame()
    for seed in range(50):
        crop = _background_crop(image, boxes, 64, np.random.default_rng(seed))
        if crop is not None:
            assert (crop[..., 0] == 255).sum() < 20 * 20  # at most a cut-off part of the sign


def test_cache_respects_its_budget(tmp_path):
    from PIL import Image

    paths = []
    for i in range(3):
        path = tmp_path / f"{i}.png"
        Image.fromarray(np.full((10, 10, 3), i, np.uint8)).save(path)
        paths.append(path)
    cache = DecodedImageCache(max_bytes=2 * 300)
    for path in paths:
        cache.get(path)
    assert len(cache._images) == 2 and int(cache.get(paths[0])[0, 0, 0]) == 0
