"""Importing an optional extra, or one line saying which extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from gate.errors import InputError

# extra name -> the module whose import proves it is installed
EXTRAS = {"fiftyone": "fiftyone", "mlflow": "mlflow"}


class MissingExtraError(InputError):
    """An optional integration was asked for but its extra is not installed (exit 2, one line)."""


def require_extra(extra: str, purpose: str) -> ModuleType:
    """The extra's main module, imported; MissingExtraError naming the extra when it is not installed."""
    module = EXTRAS[extra]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = getattr(exc, "name", None) or module
        raise MissingExtraError(f"{purpose} needs the '{extra}' extra ({missing} is not installed): "
                                f"install extra {extra} with pip install \"tsrgate[{extra}]\"") from None
