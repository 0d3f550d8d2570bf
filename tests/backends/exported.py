"""Exports of the briefly trained tiny detector, made once per test session in a private cache.

Tests never write to the user's real export cache: $TSRGATE_CACHE points at a session temporary
folder while a backend test runs (set per test with monkeypatch, since other areas' tests use the
same variable for their own caches) and while the shared exports below are built.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from gate.backends.exporter import ensure_export
from gate.backends.exports import ExportRecord
from gate.locations import CACHE_ENV
from tests.models.trained import trained_model

_CACHE: dict[str, object] = {}

# Small calibration set: the tiny model and 12 training images keep the int8 export near 15 s.
INT8_TEST_SETTINGS = {"calibration_images": 8, "calibration_method": "max", "high_precision_dtype": "fp32"}


def private_cache(tmp_path_factory) -> Path:
    """The session's private export cache folder."""
    if "cache" not in _CACHE:
        _CACHE["cache"] = tmp_path_factory.mktemp("tsrgate-cache")
    return _CACHE["cache"]  # type: ignore[return-value]


def use_private_cache(monkeypatch, tmp_path_factory) -> Path:
    """Point $TSRGATE_CACHE at the private cache for one test."""
    folder = private_cache(tmp_path_factory)
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


@contextlib.contextmanager
def _private_env(tmp_path_factory):
    saved = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(private_cache(tmp_path_factory))
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(CACHE_ENV, None)
        else:
            os.environ[CACHE_ENV] = saved


def onnx_export(tmp_path_factory) -> ExportRecord:
    if "onnx" not in _CACHE:
        with _private_env(tmp_path_factory):
            _CACHE["onnx"] = ensure_export(trained_model(tmp_path_factory), "onnx")
    return _CACHE["onnx"]  # type: ignore[return-value]


def int8_export(tmp_path_factory) -> ExportRecord:
    if "int8" not in _CACHE:
        with _private_env(tmp_path_factory):
            _CACHE["int8"] = ensure_export(trained_model(tmp_path_factory), "int8", INT8_TEST_SETTINGS)
    return _CACHE["int8"]  # type: ignore[return-value]
