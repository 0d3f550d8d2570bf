"""`run.json`: what a results folder holds and where every number came from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from gate import __version__
from gate.errors import InputError, describe_validation_error
from gate.results import load_results_index

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
    # The card's preprocessing settings (older records lack them; compare then reads the card if its hash matches)
    preprocessing: dict[str, Any] | None = None


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


class RunRecord(BaseModel):
    format: int = RUN_FORMAT
    kind: Literal["tsrgate_run"] = "tsrgate_run"
    tsrgate_version: str = __version__
    created_at: str
    model: ModelProvenance
    suites: list[SuiteProvenance]
    backends: list[dict[str, Any]]  # per backend: name, status, reason, description
    entries: list[RunEntry]
    consistency_files: dict[str, str] = Field(default_factory=dict)  # suite -> file
    parity_file: str | None = None
    latency_file: str | None = None
    libraries: dict[str, str] = Field(default_factory=dict)
    machine: dict[str, Any] = Field(default_factory=dict)
    git_commit: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    executor: ExecutorRecord = Field(default_factory=ExecutorRecord)  # older records ran in-process

    def entry(self, suite: str, backend: str) -> RunEntry | None:
        return next((e for e in self.entries if e.suite == suite and e.backend == backend), None)

    def suite(self, name: str) -> SuiteProvenance | None:
        return next((s for s in self.suites if s.name == name), None)


def load_run(folder: str | Path, verify: bool = True) -> RunRecord:
    """Load a results folder's run record after verifying the folder's seal."""
    folder = Path(folder)
    load_results_index(folder, verify=verify)
    path = folder / RUN_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"not a tsrgate run results folder (no {RUN_FILE})", path=folder) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"unreadable run record ({exc})", path=path) from None
    if raw.get("format") != RUN_FORMAT:
        raise InputError(f"run record format {raw.get('format')!r} not supported (expected {RUN_FORMAT})", path=path)
    try:
        return RunRecord.model_validate(raw)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, "run record"), path=path) from None
