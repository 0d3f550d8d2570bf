"""Stored baselines: the released results of each model line, promoted atomically, with history."""

from gate.baselines.store import (
    BaselineStore,
    BaselineVersion,
    SignoffRecord,
    default_baselines_dir,
)

__all__ = ["BaselineStore", "BaselineVersion", "SignoffRecord", "default_baselines_dir"]
