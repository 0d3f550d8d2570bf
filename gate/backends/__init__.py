"""Deployment forms of a model behind one protocol, registered by name.

Backends are registered as "module:Class" strings so that importing this package never imports
torch, onnxruntime or tensorrt; a backend's runtime is imported only when it is created.
Add a backend with one line in `_REGISTRY` (or `register_backend` at run time).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from gate.backends.detections import Detections, detections_to_coco_results
from gate.errors import InputError

_REGISTRY: dict[str, str] = {
    "torch": "gate.backends.torch_backend:TorchBackend",
    "onnx": "gate.backends.onnx_backend:OnnxBackend",
    "int8": "gate.backends.int8_backend:Int8Backend",
    "tensorrt": "gate.backends.tensorrt_backend:TensorRTBackend",
    "tensorrt-int8": "gate.backends.tensorrt_backend:TensorRTInt8Backend",
}


def register_backend(name: str, target: str) -> None:
    """Register (or replace) a backend class by its "module:Class" path."""
    _REGISTRY[name] = target


def backend_names() -> list[str]:
    return sorted(_REGISTRY)


def backend_class(name: str):
    """The Backend subclass registered under `name`; an unknown name is an InputError listing the known ones."""
    if name not in _REGISTRY:
        raise InputError(f"unknown backend {name!r}; expected one of {', '.join(backend_names())}")
    module_name, _, class_name = _REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def create_backend(name: str, model_dir: str | Path, **options):
    """An unloaded backend instance for a model folder (call `.load()` or use it as a context manager)."""
    return backend_class(name)(model_dir, **options)


__all__ = [
    "Detections",
    "backend_class",
    "backend_names",
    "create_backend",
    "detections_to_coco_results",
    "register_backend",
]
