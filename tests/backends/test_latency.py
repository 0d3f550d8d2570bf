"""Latency measurement: warm-up excluded, stages timed separately, recorded facts (never wall-clock values)."""

from __future__ import annotations

import numpy as np
import pytest

from gate.backends import create_backend
from gate.backends.latency import LatencyResult, LatencyStats, measure_latency, measure_latency_interleaved
from gate.machine import cpu_model
from gate.backends.parity import probe_images
from gate.backends.torch_backend import TorchBackend
from gate.data.dataset import DetectionDataset
from gate.errors import InputError
from tests.backends.exported import use_private_cache


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch, tmp_path_factory):
    use_private_cache(monkeypatch, tmp_path_factory)


def _sane(stats: LatencyStats, runs: int) -> None:
    assert stats.runs == runs
    assert 0 < stats.min_ms <= stats.p50_ms <= stats.p90_ms <= stats.p99_ms <= stats.max_ms
    assert stats.min_ms <= stats.mean_ms <= stats.max_ms


def test_latency_result_fields_are_consistent(trained_model_dir, shapes_data):
    images = probe_images(DetectionDataset.load(shapes_data), 2)
    with create_backend("onnx", trained_model_dir, threads=1) as backend:
        result = measure_latency(backend, images, warmup=1, runs=4)
    for stage in (result.preprocess, result.inference, result.postprocess, result.total):
        _sane(stage, 4)
    assert result.warmup_runs == 1 and result.timed_runs == 4 and result.batch == 1
    assert result.image_ids == [1, 2]
    # Stages are nested in the total of each run, so their means add up to the total's mean.
    stage_sum = result.preprocess.mean_ms + result.inference.mean_ms + result.postprocess.mean_ms
    assert stage_sum == pytest.approx(result.total.mean_ms, rel=1e-6)
    assert result.throughput_images_per_s == pytest.approx(1000.0 / result.total.mean_ms)
    assert result.threads == 1 and result.cpu_model == cpu_model() and result.cpu_count >= 1
    assert "onnxruntime" in result.libraries and result.device.startswith("cpu")
    assert result.device_synchronized is False
    assert LatencyResult.model_validate_json(result.model_dump_json()) == result


def test_percentiles_follow_numpy():
    seconds = [0.010, 0.020, 0.030, 0.040, 0.100]
    stats = LatencyStats.from_seconds(seconds)
    p50, p90, p99 = np.percentile(np.asarray(seconds) * 1000, [50, 90, 99])
    assert (stats.p50_ms, stats.p90_ms, stats.p99_ms) == pytest.approx((p50, p90, p99))
    assert stats.mean_ms == pytest.approx(40.0) and stats.max_ms == pytest.approx(100.0)


def test_interleaved_timing_runs_both_and_reports_ratios(trained_model_dir, shapes_data):
    images = probe_images(DetectionDataset.load(shapes_data), 2)
    a = create_backend("torch", trained_model_dir, threads=1)
    b = create_backend("onnx", trained_model_dir, threads=1)
    result = measure_latency_interleaved(a, b, images, warmup=1, runs=3)
    assert (result.a.backend, result.b.backend) == ("torch", "onnx")
    assert result.a.timed_runs == result.b.timed_runs == 3 and result.order == "ABAB"
    assert result.ratio_p50 == pytest.approx(result.a.total.p50_ms / result.b.total.p50_ms)
    assert result.ratio_mean == pytest.approx(result.a.total.mean_ms / result.b.total.mean_ms)


class _SyncCountingTorch(TorchBackend):
    """A torch backend that counts device synchronisations (what a CUDA backend does before each clock read)."""

    syncs = 0

    def synchronize(self) -> None:
        type(self).syncs += 1


def test_device_is_synchronised_before_every_clock_read(trained_model_dir, shapes_data):
    images = probe_images(DetectionDataset.load(shapes_data), 1)
    backend = _SyncCountingTorch(trained_model_dir, threads=1)
    result = measure_latency(backend, images, warmup=2, runs=3)
    assert result.device_synchronized is True
    assert _SyncCountingTorch.syncs == 2 * (2 + 3)  # before the first clock and after inference, every run


def test_blank_frames_and_bad_counts_are_refused(trained_model_dir, shapes_data):
    backend = create_backend("torch", trained_model_dir)
    blank = [(1, np.zeros((128, 160, 3), np.uint8))]
    with pytest.raises(InputError, match="constant frame"):
        measure_latency(backend, blank)
    images = probe_images(DetectionDataset.load(shapes_data), 1)
    with pytest.raises(InputError, match="timed runs"):
        measure_latency(backend, images, runs=0)
    with pytest.raises(InputError, match="at least one image"):
        measure_latency(backend, [])
