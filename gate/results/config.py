"""The gate's config file: suites, backends, policy and baseline line in one place, so a CI job is one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gate.errors import InputError
from gate.inputs import load_model, validate
from gate.results.export_settings import settings_for

DEFAULT_BACKENDS = ["torch", "onnx", "int8"]
# The export each backend runs, so its settings are validated by that export's schema.
EXPORT_FORMAT_OF_BACKEND = {"onnx": "onnx", "int8": "int8", "tensorrt": "onnx", "tensorrt-int8": "int8"}


class LatencySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    warmup: int = Field(default=3, ge=0)
    runs: int = Field(default=20, ge=1)
    images: int = Field(default=10, ge=1)  # distinct real suite images cycled through


class GateConfig(BaseModel):
    """What `tsrgate run` and `tsrgate compare` do when flags don't say otherwise."""

    model_config = ConfigDict(extra="forbid")

    suites: list[str] = Field(min_length=1)
    backends: list[str] = Field(default_factory=lambda: list(DEFAULT_BACKENDS))
    policy: str | None = None  # path; None = the built-in default policy
    baseline: str | None = None  # baseline line (or results folder) that `compare` uses by default
    batch_size: int = Field(default=4, ge=1)
    threads: int | None = Field(default=None, ge=1)
    consistency_iou: float = Field(default=0.9, gt=0, le=1)
    probe_images: int = Field(default=4, ge=1)
    latency: LatencySettings = Field(default_factory=LatencySettings)
    # Per backend, the settings of the export it runs (every option `tsrgate export` takes for that
    # format), so the gate measures the exact file a team ships; omitted backends use the defaults.
    exports: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("exports")
    @classmethod
    def _known_export_settings(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        checked = {}
        for backend, settings in value.items():
            if backend not in EXPORT_FORMAT_OF_BACKEND:
                raise ValueError(f"exports: backend {backend!r} runs no export; expected one of "
                                 f"{', '.join(sorted(EXPORT_FORMAT_OF_BACKEND))}")
            try:
                parsed = settings_for(EXPORT_FORMAT_OF_BACKEND[backend], settings or {})
            except InputError as exc:
                raise ValueError(f"exports.{backend}: {exc.problem}") from None
            checked[backend] = parsed.model_dump(mode="json")
        return checked


def resolve_gate_config(path: str | Path | None, *, suites: list[str] | None = None, backends: list[str] | None = None,
                        threads: int | None = None, latency: bool = True) -> GateConfig:
    """The config file at `path` (if any) with command-line overrides applied; suites must come from one of them."""
    settings = load_gate_config(path).model_dump() if path else {}
    if not settings and not suites:
        raise InputError("no suites given: pass --suites or --config")
    overrides = {"suites": suites or None, "backends": backends or None, "threads": threads}
    settings |= {key: value for key, value in overrides.items() if value is not None}
    if not latency:
        settings["latency"] = dict(settings.get("latency", {}), enabled=False)
    return _validated(settings, None)


def _validated(raw: object, path: Path | None) -> GateConfig:
    return validate(raw, GateConfig, path, "config")


def load_gate_config(path: str | Path) -> GateConfig:
    """Read and validate a gate config YAML; any problem is one InputError naming the file and key."""
    return load_model(path, GateConfig, "config", fmt="yaml")
