"""What a backend was when it produced numbers: its description, and its status in a run."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_serializer

REFERENCE_BACKEND = "torch"  # the deployment form every other backend is checked against


class BackendDescription(BaseModel):
    """What ran: recorded next to every number a backend produced."""

    name: str
    precision: str  # fp32, fp16, int8
    device: str  # e.g. "cpu", "cuda:0 (NVIDIA H100)"
    threads: int | None = None
    libraries: dict[str, str] = Field(default_factory=dict)
    model_sha256: str | None = None
    max_batch: int = 1
    details: dict[str, Any] = Field(default_factory=dict)


class BackendStatus(BaseModel):
    """One backend in one run: ran (with its description), unavailable here, or failed to load (with why)."""

    name: str
    status: Literal["ok", "unavailable", "failed"]
    reason: str = ""
    description: BackendDescription | None = None  # only for backends that loaded

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def summary(self) -> str:
        """`onnx: unavailable (why)` for reports and notes."""
        return f"{self.name}: {self.status} ({self.reason})"

    @model_serializer(mode="wrap")
    def _without_missing_description(self, handler):
        # Backends that never loaded have no description; the key is left out rather than written as null.
        data = handler(self)
        if data.get("description") is None:
            data.pop("description", None)
        return data
