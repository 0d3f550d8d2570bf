"""What runs inside a Ray worker process: load a backend once, predict shards with it.

Nothing here imports Ray, so the worker side can be tested (and read) without it. A worker checks
what it is given before it computes anything: the model card and weights must hash as the driver's
did, the backend must run the same model file, and every image's pixels must hash as the suite
manifest says. A worker on a machine that sees different files fails loudly instead of predicting
on them.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from gate.backends.detections import Detections
from gate.errors import IntegrityError


@dataclass(frozen=True)
class WorkerBackendSpec:
    """How to build, in a worker, the same backend the driver loaded."""

    name: str
    model_dir: str
    threads: int
    max_batch: int
    card_sha256: str
    weights_sha256: str
    model_file_sha256: str | None  # what the driver's backend runs (an export for onnx/int8), when it says
    cache_root: str  # exports live here; the driver's cache root (a shared path on a real cluster)


# One loaded backend per spec in each worker process: Ray reuses worker processes across tasks, so the
# model is loaded once per worker and backend, not once per shard.
_LOADED: dict[WorkerBackendSpec, object] = {}


@dataclass(frozen=True)
class ShardTask:
    """One shard's images: ids in manifest order, their files and the pixel hashes the manifest records."""

    suite: str
    index: int
    image_ids: tuple[int, ...]
    paths: tuple[str, ...]
    pixels_sha256: tuple[str, ...]
    batch_size: int


@dataclass(frozen=True)
class WorkerCrash:
    """Fault injection for tests: the worker on shard `shard` dies abruptly (`os._exit`) after its first batch.

    A killed process leaves nothing behind, so attempts are counted in the file `marker` (one line each):
    without `every_attempt` only the first attempt dies and Ray's retry must finish the shard; with it,
    every attempt dies and the run must fail naming the shard.
    """

    shard: int
    marker: str
    every_attempt: bool = False

    def strike(self, shard_index: int) -> None:
        if shard_index != self.shard:
            return
        marker = Path(self.marker)
        attempts = len(marker.read_text().splitlines()) if marker.exists() else 0
        with marker.open("a") as handle:
            handle.write(f"attempt {attempts + 1} pid {os.getpid()}\n")
        if attempts == 0 or self.every_attempt:
            os._exit(77)


@dataclass(frozen=True)
class ShardResult:
    index: int
    detections: list[Detections]
    host: str
    pid: int


def loaded_backend(spec: WorkerBackendSpec):
    """This worker's backend for `spec`, loaded (and checked against the driver's hashes) on first use."""
    backend = _LOADED.get(spec)
    if backend is not None:
        return backend
    from gate.backends import create_backend
    from gate.cards.card import card_path, load_card
    from gate.storage import sha256_file
    from gate.locations import CACHE_ENV

    os.environ[CACHE_ENV] = spec.cache_root  # exports are found where the driver made them
    model_dir = Path(spec.model_dir)
    card_sha256 = sha256_file(card_path(model_dir))
    if card_sha256 != spec.card_sha256:
        raise IntegrityError(f"model card on worker host {socket.gethostname()} has sha256 {card_sha256[:12]}, "
                             f"the run's is {spec.card_sha256[:12]}", path=card_path(model_dir))
    card = load_card(model_dir, verify_weights=True)
    if card.weights.sha256 != spec.weights_sha256:
        raise IntegrityError(f"weights on worker host {socket.gethostname()} differ from the run's", path=model_dir)
    backend = create_backend(spec.name, model_dir, card=card, threads=spec.threads, max_batch=spec.max_batch)
    backend.load()
    runs = backend.describe().model_sha256
    if spec.model_file_sha256 is not None and runs != spec.model_file_sha256:
        raise IntegrityError(f"{spec.name} backend on worker host {socket.gethostname()} runs a model file with "
                             f"sha256 {str(runs)[:12]}, the driver's runs {spec.model_file_sha256[:12]}", path=model_dir)
    _LOADED[spec] = backend
    return backend


def verified_pixels(path: str, expected_sha256: str):
    """An image's RGB pixels, refused unless they hash as the suite manifest records."""
    from gate.suites.manifest import pixels_sha256
    from gate.suites.render import load_pixels

    pixels = load_pixels(Path(path))
    if pixels_sha256(pixels) != expected_sha256:
        raise IntegrityError(f"image pixels on worker host {socket.gethostname()} differ from the suite manifest",
                             path=path)
    return pixels


def predict_shard(spec: WorkerBackendSpec, task: ShardTask, crash: WorkerCrash | None = None) -> ShardResult:
    """Detections for one shard, batch by batch from the shard's start (the in-process batch boundaries)."""
    backend = loaded_backend(spec)
    detections: list[Detections] = []
    for start in range(0, len(task.image_ids), task.batch_size):
        stop = start + task.batch_size
        pixels = [verified_pixels(p, h) for p, h in zip(task.paths[start:stop], task.pixels_sha256[start:stop],
                                                        strict=True)]
        detections.extend(backend.infer(pixels, list(task.image_ids[start:stop])))
        if crash is not None and start == 0:
            crash.strike(task.index)
    return ShardResult(index=task.index, detections=detections, host=socket.gethostname(), pid=os.getpid())
