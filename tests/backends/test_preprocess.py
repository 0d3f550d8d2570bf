"""The one preprocessing implementation, checked against transformers' RTDetrImageProcessor."""

from __future__ import annotations

import numpy as np
import pytest

from gate.backends.preprocess import plan_inputs, preprocess, tile_origins
from gate.cards.card import Normalization, PreprocessingSpec


def _image(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def _reference(images, height, width, **settings):
    from transformers.models.rt_detr.image_processing_pil_rt_detr import RTDetrImageProcessorPil

    processor = RTDetrImageProcessorPil(size={"height": height, "width": width}, **settings)
    return processor(images=list(images), return_tensors="np")["pixel_values"]


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ((480, 816), (320, 320)),  # GTSDB frame, downscale and squash
        ((320, 512), (320, 512)),  # the synthetic world at its native size (no resize)
        ((100, 90), (128, 160)),  # upscale
    ],
)
def test_stretch_matches_rtdetr_image_processor_defaults(source, target):
    images = [_image(*source, seed=1), _image(*source, seed=2)]
    spec = PreprocessingSpec(input_size=target, resize="stretch", interpolation="bilinear")
    ours = preprocess(images, [1, 2], spec).pixel_values
    theirs = _reference(images, *target)  # defaults: bilinear, rescale 1/255, no normalisation
    assert ours.shape == theirs.shape == (2, 3, *target)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)


def test_stretch_with_imagenet_normalisation_matches_reference():
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    images = [_image(200, 300, seed=3)]
    spec = PreprocessingSpec(input_size=(160, 160), normalize=Normalization(mean=mean, std=std))
    ours = preprocess(images, [7], spec).pixel_values
    theirs = _reference(images, 160, 160, do_normalize=True, image_mean=mean, image_std=std)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)


def test_bicubic_interpolation_matches_reference():
    images = [_image(90, 140, seed=4)]
    spec = PreprocessingSpec(input_size=(64, 96), interpolation="bicubic")
    ours = preprocess(images, [1], spec).pixel_values
    np.testing.assert_allclose(ours, _reference(images, 64, 96, resample=3), rtol=0, atol=1e-6)


def test_interpolation_setting_changes_pixels():
    image = [_image(90, 140, seed=5)]
    bilinear = preprocess(image, [1], PreprocessingSpec(input_size=(64, 96))).pixel_values
    nearest = preprocess(image, [1], PreprocessingSpec(input_size=(64, 96), interpolation="nearest")).pixel_values
    assert not np.array_equal(bilinear, nearest)


def test_bgr_channel_order_swaps_channels():
    image = [_image(32, 48)]
    rgb = preprocess(image, [1], PreprocessingSpec(input_size=(32, 48))).pixel_values
    bgr = preprocess(image, [1], PreprocessingSpec(input_size=(32, 48), channel_order="bgr")).pixel_values
    np.testing.assert_array_equal(bgr[:, ::-1], rgb)


def test_float16_dtype_is_honoured():
    batch = preprocess([_image(32, 48)], [1], PreprocessingSpec(input_size=(32, 48), dtype="float16"))
    assert batch.pixel_values.dtype == np.float16


def test_letterbox_keeps_aspect_and_maps_back():
    spec = PreprocessingSpec(input_size=(320, 320), resize="letterbox", letterbox_align="center", pad_value=114)
    batch = preprocess([_image(480, 816)], [1], spec)
    values = batch.pixel_values[0]
    # 816x480 -> 320x188, centred: 66 rows of padding above (114/255 everywhere there).
    np.testing.assert_allclose(values[:, :66, :], 114 / 255, atol=1e-6)
    geometry = batch.geometry[0]
    # The input's full extent maps back to the source frame widened by the padding.
    corners = geometry.to_source(np.asarray([[0.0, 66 / 320, 1.0, (66 + 188) / 320]], dtype=np.float32))
    np.testing.assert_allclose(corners[0], [0, 0, 816, 480], atol=0.5)


@pytest.mark.parametrize(
    ("length", "tile", "overlap", "expected"),
    [
        (320, 320, 80, [0]),  # fits in one tile
        (200, 320, 80, [0]),  # smaller than a tile: one padded tile
        (480, 320, 80, [0, 160]),
        (816, 320, 80, [0, 165, 330, 496]),  # GTSDB width
        (512, 320, 100, [0, 192]),
    ],
)
def test_tile_origins_cover_with_overlap(length, tile, overlap, expected):
    starts = tile_origins(length, tile, overlap)
    assert starts == expected
    assert starts[-1] + tile >= length
    assert all(b - a <= tile - overlap for a, b in zip(starts, starts[1:]))


def test_tiles_cut_native_pixels_and_offset_boxes():
    spec = PreprocessingSpec(input_size=(320, 320), resize="tiles", tile_overlap=80)
    image = _image(480, 816)
    plans = plan_inputs(0, (480, 816), spec)
    assert len(plans) == 8
    batch = preprocess([image], [5], spec)
    assert batch.pixel_values.shape == (8, 3, 320, 320)
    last = batch.geometry[-1]
    assert last.window == (496, 160, 816, 480)
    np.testing.assert_allclose(batch.pixel_values[-1].transpose(1, 2, 0), image[160:, 496:] / 255, atol=1e-6)
    box = last.to_source(np.asarray([[0.5, 0.5, 0.75, 0.75]], dtype=np.float32))
    np.testing.assert_allclose(box[0], [496 + 160, 160 + 160, 496 + 240, 160 + 240])


def test_small_image_tile_is_padded_with_pad_value():
    spec = PreprocessingSpec(input_size=(64, 64), resize="tiles", tile_overlap=8, pad_value=0)
    batch = preprocess([_image(40, 50)], [1], spec)
    assert batch.pixel_values.shape == (1, 3, 64, 64)
    assert float(np.abs(batch.pixel_values[0, :, 40:, :]).max()) == 0.0


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((10, 10), np.uint8),  # grey, no channel axis
        np.zeros((10, 10, 4), np.uint8),  # RGBA
        np.zeros((10, 10, 3), np.float32),  # not uint8
    ],
)
def test_non_rgb_uint8_input_is_refused(bad):
    with pytest.raises(ValueError, match="expected an RGB uint8 array"):
        preprocess([bad], [1], PreprocessingSpec(input_size=(8, 8)))


def test_tile_overlap_must_be_smaller_than_tile():
    with pytest.raises(ValueError, match="tile_overlap"):
        PreprocessingSpec(input_size=(64, 64), resize="tiles", tile_overlap=64)
