"""Exports of the briefly trained tiny detector, made once per test session in a private cache.

Tests never write to the user's real export cache: the first call points $TSRGATE_CACHE at a
session temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from gate.backends.exports import CACHE_ENV, ExportRecord, ensure_export
from tests.models.trained import trained_model

_CACHE: dict[str, object] = {}

# Small calibration set: the tiny model and 12 training images keep the int8 export near 15 s.
INT8_TEST_SETTINGS = {"calibration_images": 8, "calibration_method": "entropy", "high_precision_dtype": "fp32"}


def private_cache(tmp_path_factory) -> Path:
    if "cache" not in _CACHE:
        _CACHE["cache"] = tmp_path_factory.mktemp("tsrgate-cache")
        os.environ[CACHE_ENV] = str(_CACHE["cache"])
    return _CACHE["cache"]  # type: ignore[return-value]


def onnx_export(tmp_path_factory) -> ExportRecord:
    private_cache(tmp_path_factory)
    if "onnx" not in _CACHE:
        _CACHE["onnx"] = ensure_export(trained_model(tmp_path_factory), "onnx")
    return _CACHE["onnx"]  # type: ignore[return-value]


def int8_export(tmp_path_factory) -> ExportRecord:
    private_cache(tmp_path_factory)
    if "int8" not in _CACHE:
        _CACHE["int8"] = ensure_export(trained_model(tmp_path_factory), "int8", INT8_TEST_SETTINGS)
    return _CACHE["int8"]  # type: ignore[return-value]
