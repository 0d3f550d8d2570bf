"""The one preprocessing implementation: source RGB uint8 images -> model input batch + box geometry.

Every backend (torch, ONNX Runtime, INT8, TensorRT) and the training loop call these functions, so a
model is always fed exactly as its card says. With the card settings `resize: stretch,
interpolation: bilinear, rescale_factor: 1/255, normalize: none` the output equals transformers'
`RTDetrImageProcessor` (PIL backend) to float32 precision: the resize is PIL's on uint8 pixels, the
rescale is done in float64 and cast to float32, the normalisation in float32, in that order.

Each model input (a whole image, or one tile of it) carries an `InputGeometry`: the affine map from
the model's normalised box coordinates back to source-image pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from gate.cards.card import PreprocessingSpec

_PIL_FILTERS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
}


@dataclass(frozen=True)
class InputGeometry:
    """Where one model input came from. source = normalised * box_scale + box_offset (x, y)."""

    source_index: int  # position of the source image in the batch
    source_size: tuple[int, int]  # (height, width) of the source image
    box_scale: tuple[float, float]
    box_offset: tuple[float, float]
    window: tuple[int, int, int, int]  # x0, y0, x1, y1: the source region this input shows

    def to_source(self, boxes_normalised_xyxy: np.ndarray) -> np.ndarray:
        """Map (N, 4) normalised xyxy boxes to source pixels (float32)."""
        scale = np.asarray(self.box_scale * 2, dtype=np.float32)
        offset = np.asarray(self.box_offset * 2, dtype=np.float32)
        boxes = boxes_normalised_xyxy.astype(np.float32) * scale
        if self.box_offset != (0.0, 0.0):
            boxes = boxes + offset
        return boxes


@dataclass(frozen=True)
class PreparedBatch:
    """Model inputs for a batch of source images; one image may give several inputs (tiles)."""

    pixel_values: np.ndarray  # (T, 3, H, W) in the card's dtype
    geometry: list[InputGeometry]  # one per input row
    image_ids: list[int]  # one per source image
    source_sizes: list[tuple[int, int]]

    def __post_init__(self) -> None:
        if self.pixel_values.ndim != 4 or self.pixel_values.shape[1] != 3:
            raise ValueError(f"pixel_values: expected shape (T, 3, H, W), got {self.pixel_values.shape}")
        if len(self.geometry) != self.pixel_values.shape[0]:
            raise ValueError(f"geometry: expected {self.pixel_values.shape[0]} entries, got {len(self.geometry)}")
        if len(self.image_ids) != len(self.source_sizes):
            raise ValueError(f"source_sizes: expected {len(self.image_ids)} entries, got {len(self.source_sizes)}")

    def rows_of(self, source_index: int) -> list[int]:
        return [i for i, g in enumerate(self.geometry) if g.source_index == source_index]


def check_rgb(image: np.ndarray, what: str = "image") -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"{what}: expected an RGB uint8 array (H, W, 3), got {got}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"{what}: expected a non-empty image, got shape {image.shape}")
    return image


def resize_rgb(image: np.ndarray, size: tuple[int, int], interpolation: str) -> np.ndarray:
    """Resize an RGB uint8 image to (height, width) with PIL (the filter transformers uses too)."""
    height, width = size
    if image.shape[0] == height and image.shape[1] == width:
        return image
    resized = Image.fromarray(image).resize((width, height), resample=_PIL_FILTERS[interpolation])
    return np.asarray(resized)


def crop_pad(image: np.ndarray, x0: int, y0: int, height: int, width: int, pad_value: int) -> np.ndarray:
    """The (height, width) window at (x0, y0) of an image, padded with pad_value outside it."""
    out = np.full((height, width, image.shape[2]), pad_value, dtype=image.dtype)
    src_x0, src_y0 = max(x0, 0), max(y0, 0)
    src_x1, src_y1 = min(x0 + width, image.shape[1]), min(y0 + height, image.shape[0])
    if src_x1 > src_x0 and src_y1 > src_y0:
        out[src_y0 - y0 : src_y1 - y0, src_x0 - x0 : src_x1 - x0] = image[src_y0:src_y1, src_x0:src_x1]
    return out


def to_model_input(pixels: np.ndarray, spec: PreprocessingSpec) -> np.ndarray:
    """(T, H, W, 3) RGB uint8 at input size -> (T, 3, H, W) rescaled, normalised, in the card's order/dtype."""
    if pixels.ndim != 4 or pixels.shape[3] != 3:
        raise ValueError(f"pixels: expected shape (T, H, W, 3), got {pixels.shape}")
    if spec.channel_order == "bgr":
        pixels = pixels[..., ::-1]
    # Rescale in float64 then cast, as transformers does, so values agree bit for bit.
    values = (pixels.astype(np.float64) * spec.rescale_factor).astype(np.float32)
    if spec.normalize is not None:
        mean = np.asarray(spec.normalize.mean, dtype=np.float32)
        std = np.asarray(spec.normalize.std, dtype=np.float32)
        values = (values - mean) / std
    values = np.ascontiguousarray(values.transpose(0, 3, 1, 2))
    return values.astype(spec.dtype, copy=False)


def tile_origins(length: int, tile: int, min_overlap: int) -> list[int]:
    """Evenly spread tile starts covering [0, length) with neighbours overlapping >= min_overlap."""
    if length <= tile:
        return [0]
    count = math.ceil((length - min_overlap) / (tile - min_overlap))
    while True:
        starts = [(i * (length - tile)) // (count - 1) for i in range(count)] if count > 1 else [0]
        strides = [b - a for a, b in zip(starts, starts[1:])]
        if not strides or max(strides) <= tile - min_overlap:
            return starts
        count += 1


def _letterbox_layout(source: tuple[int, int], spec: PreprocessingSpec) -> tuple[tuple[int, int], tuple[int, int]]:
    """Resized (height, width) and placement (x, y) of a source image letterboxed into the input."""
    in_h, in_w = spec.input_size
    scale = min(in_h / source[0], in_w / source[1])
    resized = (max(1, min(in_h, round(source[0] * scale))), max(1, min(in_w, round(source[1] * scale))))
    if spec.letterbox_align == "center":
        place = ((in_w - resized[1]) // 2, (in_h - resized[0]) // 2)
    else:
        place = (0, 0)
    return resized, place


def plan_inputs(source_index: int, source_size: tuple[int, int], spec: PreprocessingSpec) -> list[InputGeometry]:
    """The model inputs one source image becomes under the card's resize mode (no pixels touched)."""
    src_h, src_w = source_size
    in_h, in_w = spec.input_size
    if spec.resize == "stretch":
        return [InputGeometry(source_index, source_size, (float(src_w), float(src_h)), (0.0, 0.0), (0, 0, src_w, src_h))]
    if spec.resize == "letterbox":
        (res_h, res_w), (px, py) = _letterbox_layout(source_size, spec)
        sx, sy = res_w / src_w, res_h / src_h
        return [
            InputGeometry(
                source_index, source_size, (in_w / sx, in_h / sy), (-px / sx, -py / sy), (0, 0, src_w, src_h)
            )
        ]
    plans = []
    for y0 in tile_origins(src_h, in_h, spec.tile_overlap):
        for x0 in tile_origins(src_w, in_w, spec.tile_overlap):
            window = (x0, y0, min(x0 + in_w, src_w), min(y0 + in_h, src_h))
            plans.append(InputGeometry(source_index, source_size, (float(in_w), float(in_h)), (float(x0), float(y0)), window))
    return plans


def render_input(image: np.ndarray, plan: InputGeometry, spec: PreprocessingSpec) -> np.ndarray:
    """The RGB uint8 (H, W, 3) pixels of one planned input."""
    in_h, in_w = spec.input_size
    if spec.resize == "stretch":
        return resize_rgb(image, (in_h, in_w), spec.interpolation)
    if spec.resize == "letterbox":
        (res_h, res_w), (px, py) = _letterbox_layout(plan.source_size, spec)
        resized = resize_rgb(image, (res_h, res_w), spec.interpolation)
        return crop_pad(resized, -px, -py, in_h, in_w, spec.pad_value)
    x0, y0 = plan.window[0], plan.window[1]
    return crop_pad(image, x0, y0, in_h, in_w, spec.pad_value)


def preprocess(images: Sequence[np.ndarray], image_ids: Sequence[int], spec: PreprocessingSpec) -> PreparedBatch:
    """Turn source RGB uint8 images into the model's input batch and the geometry to map boxes back."""
    if len(images) != len(image_ids):
        raise ValueError(f"image_ids: expected {len(images)} ids, got {len(image_ids)}")
    if not images:
        raise ValueError("images: expected at least one image, got none")
    rendered, geometry, sizes = [], [], []
    for index, image in enumerate(images):
        check_rgb(image, f"image {image_ids[index]}")
        size = (int(image.shape[0]), int(image.shape[1]))
        sizes.append(size)
        for plan in plan_inputs(index, size, spec):
            rendered.append(render_input(image, plan, spec))
            geometry.append(plan)
    pixel_values = to_model_input(np.stack(rendered), spec)
    return PreparedBatch(pixel_values, geometry, [int(i) for i in image_ids], sizes)
