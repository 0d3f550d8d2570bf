"""Exported deployment files (ONNX, Q/DQ INT8 ONNX): settings, the export record, and the export cache.

Model folders under models/ are committed, so exports never go there. They live in a cache,
`$TSRGATE_CACHE/exports/<weights sha256>/<format>-<settings key>/` (default root: the platform's
user cache folder for tsrgate), each folder holding the exported file and `export.json`, the
`ExportRecord` that says how it was made. The settings key is the sha256 of everything that
determines the file (format, weights hash, export settings, calibration dataset hash), so a
changed setting gives a new folder and an unchanged one reuses the old file after checking its
sha256 against the record. A folder is built in staging and renamed into place: a crash never
leaves a half-written export that looks complete.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gate.errors import InputError, describe_validation_error
from gate.locations import cache_root
from gate.storage import atomic_write_json, canonical_json, sha256_bytes, sha256_file

RECORD_FILE = "export.json"
# Bump when the export procedure changes in a way that changes the files, so old cache entries are not reused.
EXPORT_SCHEME = 1

ExportFormat = Literal["onnx", "int8"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OnnxExportSettings(_Strict):
    """How the fp32 ONNX file is made: legacy TorchScript exporter, fixed input shape from the card."""

    opset: int = Field(default=17, ge=13, le=21)
    batch: int = Field(default=1, ge=1, le=64)  # the fixed batch dimension of the exported graph


class Int8ExportSettings(_Strict):
    """How the Q/DQ ONNX file is made from the fp32 ONNX with Model Optimizer's ONNX PTQ."""

    onnx: OnnxExportSettings = Field(default_factory=OnnxExportSettings)
    calibration_images: int = Field(default=32, ge=1)
    # max calibration: on the shipped synth model (clean suite, 60 images) entropy lost 0.116 AP
    # (0.389 -> 0.273), max 0.030.
    calibration_method: Literal["entropy", "max"] = "max"
    # ONNX op types that get Q/DQ (empty = every type Model Optimizer supports). Convolutions by
    # default: the backbone and the hybrid encoder's CNN blocks carry most of the compute, while
    # quantizing attention, the score and box heads and the top-k query selection cost the most accuracy.
    quantize_op_types: list[str] = Field(default_factory=lambda: ["Conv"])
    # fp32 keeps accuracy; modelopt's own default (fp16) collapsed a trained RT-DETR (0.628 -> 0.204 AP).
    high_precision_dtype: Literal["fp32", "fp16"] = "fp32"
    seed: int = 0
    calibration_data: str | None = None  # a dataset folder; None = the model's training dataset


ExportSettings = OnnxExportSettings | Int8ExportSettings


class TensorSpec(_Strict):
    name: str
    shape: list[int | str | None]
    dtype: str


class CalibrationRecord(_Strict):
    """Which images calibrated the INT8 ranges, and a hash of the exact tensor they became."""

    dataset_path: str
    annotations_sha256: str
    split: str  # the selector applied before sampling, e.g. "split in ['train']" or "all images"
    selection: str  # the rule, in words
    seed: int
    requested_images: int
    available_images: int
    image_ids: list[int]
    tensor_shape: list[int]
    tensor_dtype: str
    tensor_sha256: str
    method: str


class ExportRecord(_Strict):
    """`export.json`: what an exported file is, how it was made, and from what."""

    format: ExportFormat
    file: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)
    settings_key: str
    settings: dict[str, Any]
    model_name: str
    model_weights_sha256: str
    exporter: str
    opset: int
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    libraries: dict[str, str]
    source_onnx_sha256: str | None = None  # int8: the fp32 ONNX it quantized
    calibration: CalibrationRecord | None = None
    qdq_nodes: dict[str, int] = Field(default_factory=dict)
    parity: dict[str, float] = Field(default_factory=dict)  # export-time max |onnx - torch| per output
    seconds: float = 0.0
    # Where the record was read from or written to; not part of the stored file.
    location: str | None = Field(default=None, exclude=True)

    @property
    def path(self) -> Path:
        """The exported file on disk (the record must have been loaded from or written to a folder)."""
        if self.location is None:
            raise ValueError("export record has no location; load it with load_export_record")
        return Path(self.location) / self.file


def settings_for(fmt: str, settings: ExportSettings | dict[str, Any] | None) -> ExportSettings:
    """Validated settings of an export format (defaults when None); a wrong field is one InputError."""
    models = {"onnx": OnnxExportSettings, "int8": Int8ExportSettings}
    if fmt not in models:
        raise InputError(f"unknown export format {fmt!r}; expected one of {', '.join(sorted(models))}")
    model = models[fmt]
    if settings is None:
        return model()
    if isinstance(settings, model):
        return settings
    if isinstance(settings, BaseModel):
        raise InputError(f"{fmt} export: expected {model.__name__}, got {type(settings).__name__}")
    try:
        return model.model_validate(settings)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, f"{fmt} export settings")) from None


def settings_key(fmt: str, weights_sha256: str, settings: ExportSettings, extra: dict[str, Any] | None = None) -> str:
    """sha256 of everything that determines an exported file."""
    payload = {
        "scheme": EXPORT_SCHEME,
        "format": fmt,
        "weights_sha256": weights_sha256,
        "settings": settings.model_dump(mode="json"),
        "extra": extra or {},
    }
    return sha256_bytes(canonical_json(payload))


def cache_folder(weights_sha256: str, fmt: str, key: str) -> Path:
    return cache_root() / "exports" / weights_sha256 / f"{fmt}-{key[:16]}"


def load_export_record(folder: str | Path) -> ExportRecord:
    """Read `export.json` of an export folder; a missing or malformed record is one InputError."""
    folder = Path(folder)
    path = folder / RECORD_FILE
    if not path.is_file():
        raise InputError(f"no {RECORD_FILE} in the export folder", path=folder)
    try:
        record = ExportRecord.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, ValueError) as exc:
        raise InputError(f"invalid export record ({str(exc).splitlines()[0]})", path=path) from None
    return record.model_copy(update={"location": str(folder)})


def verify_export(folder: Path, key: str) -> ExportRecord | None:
    """The folder's record when it is this export (same key) and its file hashes to the record; else None."""
    try:
        record = load_export_record(folder)
    except InputError:
        return None
    if record.settings_key != key or not record.path.is_file():
        return None
    if record.path.stat().st_size != record.bytes or sha256_file(record.path) != record.sha256:
        return None
    return record


def write_export_record(record: ExportRecord, folder: Path) -> ExportRecord:
    atomic_write_json(folder / RECORD_FILE, record.model_dump(mode="json"))
    return record.model_copy(update={"location": str(folder)})
