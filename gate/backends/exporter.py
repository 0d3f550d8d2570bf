"""Exports on demand: `ensure_export` finds an intact export in the cache (or `out`) or builds it with the
format's exporter. The settings, records and cache layout are in `gate.backends.exports`; the
exporters (`onnx_export`, `int8_export`) import only those, so the dependency runs one way: this
dispatcher -> exporters -> records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gate.stages import stage
from gate.backends.exports import (
    ExportRecord, ExportSettings, Int8ExportSettings, cache_folder, load_export_record, settings_for, settings_key,
    verify_export, write_export_record,
)
from gate.errors import RefusedError
from gate.storage import staged_dir


def _card_and_key(model_dir: Path, fmt: str, settings: ExportSettings):
    from gate.cards.card import load_card

    card = load_card(model_dir, verify_weights=True)
    extra: dict[str, Any] = {}
    if isinstance(settings, Int8ExportSettings):
        # The calibration images' content, not their path, decides the ranges. For the training
        # dataset the card records that hash, so a cached export is found without the dataset.
        if settings.calibration_data is None and card.training is not None:
            extra["calibration_annotations_sha256"] = card.training.data.annotations_sha256
        else:
            from gate.backends.int8_export import calibration_source

            extra["calibration_annotations_sha256"] = calibration_source(card, model_dir, settings).annotations_sha256
        extra["onnx_key"] = settings_key("onnx", card.weights.sha256, settings.onnx)
    return card, settings_key(fmt, card.weights.sha256, settings, extra)


def ensure_export(
    model_dir: str | Path,
    fmt: str,
    settings: ExportSettings | dict[str, Any] | None = None,
    *,
    out: str | Path | None = None,
    force: bool = False,
) -> ExportRecord:
    """The export of a model in `fmt` ("onnx" or "int8"), built if needed, reused when present and intact.

    Without `out` the export lives in the cache (see module docstring) and a cache entry whose file
    no longer matches its record is rebuilt. With `out` the export is written to that folder; an
    existing folder holding anything else is refused unless `force`.
    """
    model_dir = Path(model_dir)
    settings = settings_for(fmt, settings)
    card, key = _card_and_key(model_dir, fmt, settings)
    folder = Path(out) if out is not None else cache_folder(card.weights.sha256, fmt, key)
    if not force:
        existing = verify_export(folder, key)
        if existing is not None:
            return existing
    if out is not None and folder.exists() and any(folder.iterdir()) and not force:
        raise RefusedError("export folder exists and holds something else; pass --force to replace it", path=folder)
    if fmt == "int8":
        source = ensure_export(model_dir, "onnx", settings.onnx)  # timed as the onnx export, not inside int8's
    with staged_dir(folder, force=True) as staging, stage(f"export {fmt}"):
        if fmt == "onnx":
            from gate.backends.onnx_export import export_onnx

            record = export_onnx(model_dir, card, settings, staging, key)
        else:
            from gate.backends.int8_export import export_int8

            record = export_int8(model_dir, card, settings, staging, key, source=source)
        write_export_record(record, staging)
    return load_export_record(folder)
