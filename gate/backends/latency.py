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
        backend.decode(raw, batch)
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


def p50_ratio_interval(a_ms: np.ndarray, b_ms: np.ndarray, *, confidence: float, resamples: int,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile CI of median(a) / median(b) from a paired bootstrap over the timed pairs.

    Pair k is A's and B's k-th run, timed back to back, so a slow moment of the machine hits both:
    resampling whole pairs keeps that pairing (one seeded draw of pair indices per resample)."""
    a_ms, b_ms = np.asarray(a_ms, dtype=np.float64), np.asarray(b_ms, dtype=np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, a_ms.shape[0], size=(resamples, a_ms.shape[0]))
    ratios = np.median(a_ms[idx], axis=1) / np.median(b_ms[idx], axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(ratios, [tail, 1.0 - tail])
    return float(low), float(high)


def measure_latency_sequential(backend_a: Backend, backend_b: Backend, images: Sequence[tuple[int, np.ndarray]], *,
                               warmup: int, tolerance: float, confidence: float, min_pairs: int, max_pairs: int,
                               step: int = 10, resamples: int = 500, seed: int = 0) -> InterleavedLatency:
    """Interleaved A/B timing that stops as soon as the p50 ratio is known well enough.

    After `min_pairs` pairs and then every `step` pairs, the paired-bootstrap CI of the p50 ratio is
    computed; sampling stops when its half-width is at most `tolerance` times the ratio, or at
    `max_pairs`. A quiet machine therefore needs few runs, a noisy one gets more (up to the maximum),
    and the verdict records the interval, the pairs taken and why sampling stopped."""
    _check_images(images)
    _check_counts(warmup, min_pairs)
    if max_pairs < min_pairs:
        raise InputError(f"latency: max_pairs {max_pairs} is below min_pairs {min_pairs}")
    timers = (_StageTimer(backend_a), _StageTimer(backend_b))
    k, stopped, interval = 0, "maximum pairs reached", (float("nan"), float("nan"))
    while True:
        image_id, pixels = images[k % len(images)]
        for timer in timers:
            timer.run(image_id, pixels, record=k >= warmup)
        k += 1
        pairs = k - warmup
        if pairs >= min_pairs and ((pairs - min_pairs) % step == 0 or pairs >= max_pairs):
            a_ms = np.asarray(timers[0].seconds["total"]) * 1000.0
            b_ms = np.asarray(timers[1].seconds["total"]) * 1000.0
            interval = p50_ratio_interval(a_ms, b_ms, confidence=confidence, resamples=resamples, seed=seed)
            ratio = float(np.median(a_ms) / np.median(b_ms))
            if (interval[1] - interval[0]) / 2.0 <= tolerance * ratio:
                stopped = "interval within tolerance"
                break
            if pairs >= max_pairs:
                break
    ids = [int(i) for i, _ in images]
    a, b = (timer.result(warmup, ids) for timer in timers)
    return InterleavedLatency(a=a, b=b, ratio_p50=a.total.p50_ms / b.total.p50_ms,
                              ratio_mean=a.total.mean_ms / b.total.mean_ms, ratio_p50_ci_low=interval[0],
                              ratio_p50_ci_high=interval[1], confidence=confidence, pairs=k - warmup,
                              stopped=stopped)
