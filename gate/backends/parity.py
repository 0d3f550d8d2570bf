"""Preprocessing-parity probe: does every backend path feed its runtime the same tensor as the reference?

A changed resize, normalisation or channel order moves metrics only a little and late; here it is
caught by name before any metric is computed. A few fixed real probe images go through each
backend's own `prepare` (its preprocessing settings, including any override, and its code path);
the exact input tensor is hashed, and compared with the reference backend's. When a backend
differs, the settings where its preprocessing differs from the card's are named; when none
differs, the backend's preprocessing code itself produced a different tensor, and the result says so.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from gate.backends.base import Backend
from gate.backends.preprocess import PreparedBatch
from gate.errors import InputError
from gate.results.backend import REFERENCE_BACKEND
from gate.results.parity import ParityEntry, PreprocessingParity, SettingDifference
from gate.storage import canonical_json, sha256_bytes

DEFAULT_PROBE_IMAGES = 4


def probe_images(source, count: int = DEFAULT_PROBE_IMAGES) -> list[tuple[int, np.ndarray]]:
    """The first `count` images (in order) of a dataset or opened suite as (image id, RGB pixels).

    `source` is anything with `iter_images()` yielding LoadedImage (DetectionDataset, ResolvedSuite);
    only the first `count` images are read. These are fixed, real probes, also usable for latency.
    """
    images = [(loaded.info.id, loaded.pixels) for loaded in itertools.islice(source.iter_images(), count)]
    if not images:
        raise InputError("no probe images: the dataset is empty", path=getattr(source, "annotations_path", None))
    return images


def tensor_sha256(batch: PreparedBatch) -> str:
    """sha256 over the input tensor's shape, dtype and bytes (C order)."""
    values = np.ascontiguousarray(batch.pixel_values)
    header = canonical_json({"shape": list(values.shape), "dtype": values.dtype.name})
    return sha256_bytes(header + values.tobytes())


def setting_differences(backend: Backend) -> list[SettingDifference]:
    """Preprocessing settings where a backend departs from its model card."""
    card = backend.card.preprocessing.model_dump(mode="json")
    used = backend.preprocessing.model_dump(mode="json")
    return [SettingDifference(setting=key, card=card[key], backend=used.get(key))
            for key in card if card[key] != used.get(key)]


def check_preprocessing_parity(
    backends: Sequence[Backend], images: Sequence[tuple[int, np.ndarray]], reference: str = REFERENCE_BACKEND
) -> PreprocessingParity:
    """Hash every backend's prepared probe batch and compare it with the reference backend's."""
    if not images:
        raise InputError("preprocessing parity needs at least one probe image")
    names = [b.name for b in backends]
    if len(set(names)) != len(names):
        raise InputError(f"preprocessing parity: backend names must be unique, got {names}")
    if reference not in names:
        raise InputError(f"preprocessing parity: reference backend {reference!r} is not among {names}")
    ids = [int(i) for i, _ in images]
    pixels = [p for _, p in images]
    source_hash = sha256_bytes(b"".join(np.ascontiguousarray(p).tobytes() for p in pixels))
    prepared = {b.name: b.prepare(pixels, ids) for b in backends}
    ref_values = prepared[reference].pixel_values
    ref_hash = tensor_sha256(prepared[reference])
    entries = []
    for backend in backends:
        batch = prepared[backend.name]
        digest = tensor_sha256(batch)
        values = batch.pixel_values
        same_shape = values.shape == ref_values.shape
        diff = float(np.abs(values.astype(np.float64) - ref_values.astype(np.float64)).max()) if same_shape else None
        matches = digest == ref_hash
        differences = setting_differences(backend)
        note = ""
        if not matches:
            if differences:
                note = "preprocessing differs from the card in: " + ", ".join(
                    f"{d.setting} ({d.card} -> {d.backend})" for d in differences)
            else:
                note = "same settings as the card, different tensor: this backend's preprocessing code differs"
        entries.append(ParityEntry(
            backend=backend.name, tensor_sha256=digest, shape=list(values.shape), dtype=values.dtype.name,
            matches_reference=matches, max_abs_diff=diff, differing_settings=differences, note=note,
        ))
    return PreprocessingParity(reference=reference, probe_image_ids=ids, probe_pixels_sha256=source_hash,
                               entries=entries)
