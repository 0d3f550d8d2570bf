"""The gate's config file: suites, backends, policy and baseline line in one place, so a CI job is one line."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gate.errors import InputError, describe_validation_error

DEFAULT_BACKENDS = ["torch", "onnx", "int8"]


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
    try:
        return GateConfig.model_validate(raw)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, "config"), path=path) from None


def load_gate_config(path: str | Path) -> GateConfig:
    path = Path(path)
    if not path.is_file():
        raise InputError("config file not found", path=path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML ({str(exc).splitlines()[0]})", path=path) from None
    return _validated(raw, path)
