"""Latency of a backend at batch 1 on real images: warm-up excluded, stages timed separately.

Each timed run is one source image through the backend's own pipeline: `prepare` (preprocessing),
`run_prepared` (the runtime, including the copy of outputs back to the host) and the shared
postprocessing, each with its own clock. On CUDA the device is synchronised before every clock
read, so asynchronous work is not billed to the next stage. Images cycle in the given order.

To compare a candidate with a baseline on a noisy shared machine, `measure_latency_interleaved`
times them alternately (A B A B ...) in one process, so both see the same slow and fast moments
and their ratio stays meaningful even when absolute numbers drift.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from gate.backends.base import Backend
from gate.backends.postprocess import postprocess
from gate.errors import InputError
from gate.machine import cpu_count, cpu_model
from gate.results.latency import InterleavedLatency, LatencyResult, LatencyStats

DEFAULT_WARMUP = 5
DEFAULT_RUNS = 50
STAGES = ("preprocess", "inference", "postprocess", "total")


def _check_images(images: Sequence[tuple[int, np.ndarray]]) -> None:
    if not images:
        raise InputError("latency needs at least one image")
    for image_id, pixels in images:
        # A blank frame is not a measurement of anything a car sees; refuse it rather than report it.
        if pixels.size and int(pixels.max()) == int(pixels.min()):
            raise InputError(f"latency needs real images; image {image_id} is a constant frame")


def _synchronizer(backend: Backend):
    """A function that waits for the backend's device, or None on CPU."""
    own = getattr(backend, "synchronize", None)
    if callable(own):
        return own
    if str(backend.device).startswith("cuda"):
        import torch

        return torch.cuda.synchronize
    return None


class _StageTimer:
    """Times one backend run by run; keeps per-stage seconds."""

    def __init__(self, backend: Backend):
        self.backend = backend.load()
        self.sync = _synchronizer(backend)
        self.seconds: dict[str, list[float]] = {stage: [] for stage in STAGES}

    def run(self, image_id: int, pixels: np.ndarray, record: bool) -> None:
        backend, sync = self.backend, self.sync
        if sync:
            sync()
        t0 = time.perf_counter()
        batch = backend.prepare([pixels], [image_id])
        t1 = time.perf_counter()
        raw = backend.run_prepared(batch)
        if sync:
            sync()
        t2 = time.perf_counter()
        postprocess(raw, batch, backend.postprocessing)
        t3 = time.perf_counter()
        if record:
            for stage, value in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t3 - t0), strict=True):
                self.seconds[stage].append(value)

    def result(self, warmup: int, image_ids: list[int]) -> LatencyResult:
        description = self.backend.describe()
        stats = {stage: LatencyStats.from_seconds(values) for stage, values in self.seconds.items()}
        return LatencyResult(
            backend=self.backend.name, precision=description.precision, warmup_runs=warmup,
            timed_runs=stats["total"].runs, image_ids=image_ids, **stats,
            throughput_images_per_s=1000.0 / stats["total"].mean_ms,
            threads=description.threads, cpu_model=cpu_model(), cpu_count=cpu_count(), device=description.device,
            device_synchronized=self.sync is not None, libraries=description.libraries, description=description,
        )


def _check_counts(warmup: int, runs: int) -> None:
    if warmup < 0:
        raise InputError(f"latency warm-up runs: expected >= 0, got {warmup}")
    if runs < 1:
        raise InputError(f"latency timed runs: expected >= 1, got {runs}")


def measure_latency(backend: Backend, images: Sequence[tuple[int, np.ndarray]], *, warmup: int = DEFAULT_WARMUP,
                    runs: int = DEFAULT_RUNS) -> LatencyResult:
    """Batch-1 latency of one backend over (image id, RGB pixels) pairs, cycling through them."""
    _check_images(images)
    _check_counts(warmup, runs)
    timer = _StageTimer(backend)
    for k in range(warmup + runs):
        image_id, pixels = images[k % len(images)]
        timer.run(image_id, pixels, record=k >= warmup)
    return timer.result(warmup, [int(i) for i, _ in images])


def measure_latency_interleaved(backend_a: Backend, backend_b: Backend, images: Sequence[tuple[int, np.ndarray]],
                                *, warmup: int = DEFAULT_WARMUP, runs: int = DEFAULT_RUNS) -> InterleavedLatency:
    """Time two backends alternately on the same image sequence (A B A B ...); ratios are a / b."""
    _check_images(images)
    _check_counts(warmup, runs)
    timers = (_StageTimer(backend_a), _StageTimer(backend_b))
    for k in range(warmup + runs):
        image_id, pixels = images[k % len(images)]
        for timer in timers:
            timer.run(image_id, pixels, record=k >= warmup)
    ids = [int(i) for i, _ in images]
    a, b = (timer.result(warmup, ids) for timer in timers)
    return InterleavedLatency(a=a, b=b, ratio_p50=a.total.p50_ms / b.total.p50_ms,
                              ratio_mean=a.total.mean_ms / b.total.mean_ms)
