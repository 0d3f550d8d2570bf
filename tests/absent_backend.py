"""A backend that is unavailable on every machine by construction.

Tests that need "a backend that cannot run here" use this one rather than TensorRT, which does run on a
machine with a GPU and would turn those tests into failures there. `tests/conftest.py` registers it as
`absent` for the whole session.
"""

from __future__ import annotations

import numpy as np

from gate.backends.base import Backend
from gate.backends.postprocess import RawOutputs
from gate.results.backend import BackendDescription

ABSENT = "absent"
ABSENT_REASON = "absent by construction (a test backend)"


class AbsentBackend(Backend):
    name = ABSENT

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return ABSENT_REASON

    def _load(self) -> None:
        raise AssertionError("the absent test backend is never loaded: the runner checks unavailable_reason first")

    def forward(self, pixel_values: np.ndarray) -> RawOutputs:
        raise AssertionError("the absent test backend never runs")

    def describe(self) -> BackendDescription:
        return BackendDescription(name=ABSENT, precision="none", device="none")
