"""Rendering one suite image: source pixels through the transform chain, seeded per image.

Everything a render depends on is in the manifest (source pixels by hash, the boxes, the resolved
parameters, the per-image seed), so the builder, `open_suite` and `suite verify` all render the
same way and a cache can be rebuilt from the manifest alone.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from gate.data.dataset import read_rgb
from gate.errors import InputError, RefusedError
from gate.suites.manifest import ImageTransformRecord, ManifestTransform
from gate.suites.transforms.base import RenderInput, TransformFamily, TransformParams
from gate.suites.transforms.registry import get_transform

PNG_COMPRESS_LEVEL = 6


@dataclass(frozen=True)
class ResolvedStep:
    family: TransformFamily
    severity: int
    params: TransformParams

    def record(self) -> ManifestTransform:
        return ManifestTransform(name=self.family.name, version=self.family.version, severity=self.severity,
                                 params=self.params.model_dump(mode="json"))


@dataclass(frozen=True)
class RenderedImage:
    pixels: np.ndarray  # (H, W, 3) uint8
    transforms: list[ImageTransformRecord]
    box_attributes: dict[int, dict[str, float | str]]


def image_seed(suite_seed: int, image_id: int) -> int:
    """The per-image seed: the suite seed and the image id through numpy's SeedSequence."""
    return int(np.random.SeedSequence([suite_seed, image_id]).generate_state(1, dtype=np.uint32)[0])


def step_generator(seed: int, step_index: int) -> np.random.Generator:
    """Each step of the chain gets its own stream, so adding a step never reshuffles the earlier ones."""
    return np.random.default_rng(np.random.SeedSequence([seed, step_index]))


def steps_from_manifest(transforms: list[ManifestTransform], where: str | Path) -> list[ResolvedStep]:
    """Rebuild the chain recorded in a manifest; refuses a transform whose installed version differs."""
    steps = []
    for record in transforms:
        try:
            family = get_transform(record.name)
        except KeyError as exc:
            raise RefusedError(exc.args[0], path=where) from None
        if family.version != record.version:
            raise RefusedError(f"transform '{record.name}' is version {family.version} here but the suite was "
                               f"rendered with version {record.version}; it cannot be reproduced", path=where)
        try:
            params = family.params_model.model_validate(record.params)
        except ValueError as exc:
            raise RefusedError(f"transform '{record.name}' parameters no longer validate: {exc}", path=where) from None
        steps.append(ResolvedStep(family, record.severity, params))
    return steps


def read_depth(path: Path) -> np.ndarray:
    """A depth map in metres: `.npy` (float metres) or a 16-bit PNG holding centimetres."""
    if not path.is_file():
        raise InputError("depth map not found", path=path)
    if path.suffix == ".npy":
        return np.load(path).astype(np.float64)
    with Image.open(path) as img:
        return np.asarray(img, dtype=np.float64) / 100.0


def render(source_pixels: np.ndarray, boxes: list[tuple[float, float, float, float]], steps: list[ResolvedStep],
           seed: int, depth: np.ndarray | None = None, where: str | Path | None = None) -> RenderedImage:
    """Run the chain on one image; a transform that cannot run is an InputError naming `where`."""
    pixels = source_pixels.astype(np.float64)
    records = []
    attributes: dict[int, dict[str, float | str]] = {}
    for index, step in enumerate(steps):
        try:
            outcome = step.family.apply(RenderInput(pixels, boxes, depth), step.params, step_generator(seed, index))
        except ValueError as exc:
            raise InputError(f"transform '{step.family.name}': {exc}", path=where) from None
        pixels = outcome.pixels
        records.append(ImageTransformRecord(name=step.family.name, drawn=outcome.drawn))
        for box_index, values in outcome.box_attributes.items():
            attributes.setdefault(box_index, {}).update(values)
    final = np.clip(np.round(pixels), 0, 255).astype(np.uint8)
    return RenderedImage(final, records, attributes)


def encode_png(pixels: np.ndarray) -> bytes:
    """Lossless PNG bytes with no metadata (same pixels, same Pillow/zlib: same bytes)."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def load_pixels(path: Path) -> np.ndarray:
    """Decode an image file to RGB uint8 (an InputError naming the file when unreadable)."""
    return read_rgb(path)
