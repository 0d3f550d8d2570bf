"""Which backends can run on this machine, stated in every result: never silently skipped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from gate.backends import backend_class, backend_names


class BackendAvailability(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: str
    status: Literal["available", "unavailable"]
    reason: str | None = None

    def line(self) -> str:
        """`tensorrt: unavailable (no CUDA device)` / `onnx: available`."""
        return f"{self.backend}: {self.status}" + (f" ({self.reason})" if self.reason else "")


def backend_availability(names: Sequence[str] | None = None) -> list[BackendAvailability]:
    """Availability of the named backends (all registered ones by default); unknown names are an InputError."""
    result = []
    for name in names if names is not None else backend_names():
        reason = backend_class(name).unavailable_reason()
        result.append(BackendAvailability(backend=name, status="available" if reason is None else "unavailable",
                                          reason=reason))
    return result
