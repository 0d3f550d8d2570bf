"""`latency.json`: batch-1 latency per backend, measured in the process that ran tsrgate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from pydantic import Field

from gate.results.artifact import Artifact, Strict
from gate.results.backend import BackendDescription

LATENCY_FILE = "latency.json"


class LatencyStats(Strict):
    """Milliseconds over the timed runs (percentiles by linear interpolation)."""

    runs: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float

    @classmethod
    def from_seconds(cls, seconds: Sequence[float]) -> LatencyStats:
        import numpy as np  # only the stage that measures needs it; readers of latency.json do not

        return cls.from_milliseconds(np.asarray(seconds, dtype=np.float64) * 1000.0)

    @classmethod
    def from_milliseconds(cls, milliseconds: Sequence[float]) -> LatencyStats:
        """The same statistics over figures already in ms (e.g. what a device pipeline reported)."""
        import numpy as np

        ms = np.asarray(milliseconds, dtype=np.float64)
        if not ms.size:
            raise ValueError("latency: expected at least one timed run, got none")
        p50, p90, p99 = np.percentile(ms, [50, 90, 99])
        return cls(runs=int(ms.size), p50_ms=float(p50), p90_ms=float(p90), p99_ms=float(p99),
                   mean_ms=float(ms.mean()), min_ms=float(ms.min()), max_ms=float(ms.max()))


class LatencyResult(Strict):
    """One backend's latency at batch 1, with the facts needed to trust or reproduce the number."""

    backend: str
    precision: str
    batch: int = 1
    warmup_runs: int
    timed_runs: int
    image_ids: list[int]
    preprocess: LatencyStats
    inference: LatencyStats
    postprocess: LatencyStats
    total: LatencyStats
    throughput_images_per_s: float = Field(gt=0)
    threads: int | None
    cpu_model: str
    cpu_count: int
    device: str
    device_synchronized: bool
    libraries: dict[str, str]
    description: BackendDescription


class InterleavedLatency(Strict):
    """Two backends timed alternately (A B A B ...) in one process; ratios are a / b.

    Measured sequentially (`measure_latency_sequential`), it also holds the paired-bootstrap CI of
    the p50 ratio, the pairs timed and why sampling stopped."""

    order: str = "ABAB"
    a: LatencyResult
    b: LatencyResult
    ratio_p50: float
    ratio_mean: float
    ratio_p50_ci_low: float | None = None
    ratio_p50_ci_high: float | None = None
    confidence: float | None = None
    pairs: int | None = None
    stopped: str = ""  # "interval within tolerance" or "maximum pairs reached"


class LatencyFile(Artifact):
    """What `tsrgate run` measured: one LatencyResult per backend that loaded."""

    what = "latency file"

    measured_in: str = "process"
    backends: dict[str, LatencyResult] = Field(default_factory=dict)


class StoredTiming(Artifact):
    """An interleaved timing of two model files on one machine, kept in the cache so that a compare of the
    same two models on the same machine reuses it instead of re-timing (`tsrgate compare --retime` re-times).

    `key` is the hash of what the timing depends on (both models' weights and cards, backend, machine
    fingerprint, threads, the timed images and the policy's latency settings); `timed_at` is when it ran."""

    what: ClassVar[str] = "stored latency timing"

    key: str
    timed_at: str
    machine: str
    timing: InterleavedLatency
