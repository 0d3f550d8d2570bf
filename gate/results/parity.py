"""`parity.json`: the preprocessing-parity probe, every backend's input tensor against the reference's."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from gate.results.artifact import Artifact, Strict

PARITY_FILE = "parity.json"


class SettingDifference(Strict):
    setting: str
    card: Any
    backend: Any


class ParityEntry(Strict):
    backend: str
    tensor_sha256: str
    shape: list[int]
    dtype: str
    matches_reference: bool
    max_abs_diff: float | None  # against the reference tensor; None when the shapes differ
    differing_settings: list[SettingDifference] = Field(default_factory=list)
    note: str = ""


class PreprocessingParity(Artifact):
    """Per backend: the hash of its input tensor on the probe images and whether it equals the reference's."""

    model_config = ConfigDict(extra="forbid")
    what = "parity file"

    reference: str
    probe_image_ids: list[int]
    probe_pixels_sha256: str  # of the source images, so a changed probe set is visible too
    entries: list[ParityEntry]

    @property
    def all_match(self) -> bool:
        return all(e.matches_reference for e in self.entries)

    def entry(self, backend: str) -> ParityEntry:
        for item in self.entries:
            if item.backend == backend:
                return item
        raise KeyError(backend)
