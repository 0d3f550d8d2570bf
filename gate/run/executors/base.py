"""What every prediction executor shares: the job it is given, the shards it may cut, the error it raises.

An executor does only the predictions step (suite images -> Detections for one backend); evaluation,
consistency, parity and latency stay in the runner, on the gathered detections. Shards are cut on the
runner's batch boundaries, so every image meets exactly the neighbours it meets in-process and the
runtime computes the same batches: that is what keeps the numbers identical whatever runs them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gate.backends.detections import Detections
from gate.errors import GateError
from gate.results.record import ExecutorRecord


@dataclass
class PredictionJob:
    """One backend on one suite: what an executor needs to produce that backend's detections."""

    backend: Any  # the loaded Backend in this process (in-process predictions, and its settings for workers)
    suite: Any  # ResolvedSuite: images in manifest order, verified
    batch_size: int
    model_dir: Path
    card_sha256: str
    weights_sha256: str
    model_file_sha256: str | None = None  # the file the backend runs (export), from its description

    @property
    def label(self) -> str:
        return f"{self.suite.name} [{self.backend.name}]"


class PredictionExecutor(Protocol):
    """Produces a backend's detections on a suite, in manifest order, one Detections per image."""

    kind: str

    def predict(self, job: PredictionJob, progress: bool) -> list[Detections]: ...

    def close(self) -> None:
        """Release workers (called before latency is measured, so nothing of ours competes with it)."""

    def record(self) -> ExecutorRecord: ...


@dataclass(frozen=True)
class Shard:
    """A contiguous run of a suite's images (manifest order) that one worker predicts in one go."""

    index: int
    image_ids: tuple[int, ...]

    def describe(self) -> str:
        return f"shard {self.index} (image ids {self.image_ids[0]}..{self.image_ids[-1]}, {len(self.image_ids)} images)"


def default_shard_images(images: int, batch_size: int, workers: int) -> int:
    """About four shards per worker (so a slow or retried shard does not leave the others idle), whole batches."""
    per_shard = math.ceil(images / max(1, workers * 4))
    return max(batch_size, math.ceil(per_shard / batch_size) * batch_size)


def plan_shards(image_ids: Sequence[int], batch_size: int, shard_images: int) -> list[Shard]:
    """Cut `image_ids` (manifest order) into shards of whole batches: `shard_images` rounded up to a batch multiple."""
    if batch_size < 1 or shard_images < 1:
        raise ValueError(f"batch_size and shard_images must be positive, got {batch_size} and {shard_images}")
    size = math.ceil(shard_images / batch_size) * batch_size
    ids = list(image_ids)
    return [Shard(index=n, image_ids=tuple(ids[start:start + size])) for n, start in enumerate(range(0, len(ids), size))]


class ShardFailedError(GateError):
    """A shard still failed after its retries: the whole run fails, naming it (never a smaller suite)."""
