"""Export settings: how each deployment file (fp32 ONNX, Q/DQ INT8 ONNX) is made.

The gate config (`exports:`) and every export record carry them, so they sit below both
(`gate.backends.exports` re-exports them for the exporter and the CLI).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gate.errors import InputError, describe_validation_error

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
