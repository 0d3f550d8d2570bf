"""Stored baselines: the released results of each model line, promoted atomically, with history.

Owns: the store layout (CURRENT, versions/, sign-off records) and promotion, which refuses tampered results and
a verdict that failed, was edited by hand or is about another results folder.
"""

from gate.baselines.store import (
    BaselineStore,
    BaselineVersion,
    SignoffRecord,
    default_baselines_dir,
)

__all__ = ["BaselineStore", "BaselineVersion", "SignoffRecord", "default_baselines_dir"]
