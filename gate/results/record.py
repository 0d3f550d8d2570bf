"""`run.json`: what a results folder holds and where every number came from."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from gate import __version__
from gate.errors import InputError
from gate.results.artifact import Artifact
from gate.results.backend import BackendStatus
from gate.results.config import GateConfig

RUN_FILE = "run.json"
RUN_FORMAT = 1


class ModelProvenance(BaseModel):
    name: str
    version: str
    path: str
    card_sha256: str
    weights_sha256: str
    class_names: list[str]
    score_threshold: float
    architecture: str = ""


class SuiteProvenance(BaseModel):
    name: str
    version: str
    manifest_sha256: str
    spec_sha256: str
    taxonomy_sha256: str
    images: int
    boxes: int
    transforms: list[str] = Field(default_factory=list)  # "name@severity" per step; empty for clean suites
    source: str = ""
    folder: str = ""  # where the suite's manifest was read from


class RunEntry(BaseModel):
    """One suite on one backend."""

    suite: str
    backend: str
    status: Literal["ok", "unavailable", "failed"]
    reason: str = ""
    predictions_file: str | None = None
    evaluation_file: str | None = None
    records_file: str | None = None
    predictions_from_cache: bool = False
    images: int = 0
    seconds: float = 0.0
    summary: dict[str, float | None] = Field(default_factory=dict)  # ap, ap50, ap75, ... for quick reading


LATENCY_MEASURED_IN = "in-process, in the process that ran tsrgate (never on a Ray worker)"


class ExecutorRecord(BaseModel):
    """What produced the predictions; the numbers do not depend on it (shards follow the in-process batches)."""

    kind: Literal["inprocess", "ray"] = "inprocess"
    workers: int = 1  # predictions running at once
    address: str | None = None  # "local" (a Ray instance started for this run) or the cluster joined
    shard_images: int | None = None  # images per shard (a multiple of the batch size); None in-process
    shards: int = 0  # shards predicted (cached predictions need none)
    max_retries: int = 0  # attempts after the first, per shard
    ray_version: str | None = None
    hosts: list[str] = Field(default_factory=list)  # machines the shards ran on
    latency_measured_in: str = LATENCY_MEASURED_IN

    def summary(self) -> str:
        """One line for reports, e.g. `ray 2.40.0 (2 workers, local, 6 shards of up to 8 images on host-a, ...)`."""
        if self.kind == "inprocess":
            return "in-process"
        hosts = f" on {', '.join(self.hosts)}" if self.hosts else ""
        version = f" {self.ray_version}" if self.ray_version else ""
        return (f"ray{version} ({self.workers} workers, {self.address or 'local'}, {self.shards} shards of up to "
                f"{self.shard_images} images{hosts}, {self.max_retries} retries per shard)")


class RunRecord(Artifact):
    what = "run record"

    format: int = RUN_FORMAT
    kind: Literal["tsrgate_run"] = "tsrgate_run"
    tsrgate_version: str = __version__
    created_at: str
    model: ModelProvenance
    suites: list[SuiteProvenance]
    backends: list[BackendStatus]
    entries: list[RunEntry]
    consistency_files: dict[str, str] = Field(default_factory=dict)  # suite -> file
    parity_file: str | None = None
    latency_file: str | None = None
    libraries: dict[str, str] = Field(default_factory=dict)
    machine: dict[str, Any] = Field(default_factory=dict)
    git_commit: str | None = None
    config: GateConfig
    executor: ExecutorRecord = Field(default_factory=ExecutorRecord)  # older records ran in-process

    def entry(self, suite: str, backend: str) -> RunEntry | None:
        return next((e for e in self.entries if e.suite == suite and e.backend == backend), None)

    def suite(self, name: str) -> SuiteProvenance | None:
        return next((s for s in self.suites if s.name == name), None)

    def backend(self, name: str) -> BackendStatus | None:
        return next((b for b in self.backends if b.name == name), None)

    def backends_ok(self) -> list[str]:
        """Names of the backends that loaded and ran."""
        return [b.name for b in self.backends if b.ok]

    @classmethod
    def check_header(cls, raw: object, path: Path) -> None:
        super().check_header(raw, path)
        if raw.get("format") != RUN_FORMAT:
            raise InputError(f"run record format {raw.get('format')!r} not supported (expected {RUN_FORMAT})",
                             path=path)
