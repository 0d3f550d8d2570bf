"""Latency judged as a statistic: paired CI of the p50 ratio, sequential stopping, reuse of a timing,
and the same model against itself never failing beyond the policy's alpha."""

from __future__ import annotations

import numpy as np
import pytest

from gate.backends import create_backend
from gate.backends.latency import measure_latency_sequential, p50_ratio_interval
from gate.backends.parity import probe_images
from gate.compare import compare_results
from gate.data.dataset import DetectionDataset
from gate.policy import MetricComparison, apply_policy
from gate.policy.schema import Policy
from tests.backends.exported import use_private_cache


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch, tmp_path_factory):
    use_private_cache(monkeypatch, tmp_path_factory)


def test_p50_ratio_interval_is_seeded_and_covers_the_true_ratio():
    rng = np.random.default_rng(3)
    shared = rng.gamma(4.0, 2.0, size=200)  # the machine's slow and fast moments hit both sides of a pair
    a = 1.5 * (10.0 + shared) + rng.normal(0, 0.2, 200)
    b = 10.0 + shared + rng.normal(0, 0.2, 200)
    low, high = p50_ratio_interval(a, b, confidence=0.95, resamples=500, seed=0)
    assert (low, high) == p50_ratio_interval(a, b, confidence=0.95, resamples=500, seed=0)
    assert low < np.median(a) / np.median(b) < high
    assert low < 1.5 < high and high - low < 0.2
    assert (low, high) != p50_ratio_interval(a, b, confidence=0.95, resamples=500, seed=1)


def _images(shapes_data):
    return probe_images(DetectionDataset.load(shapes_data), 2)


def test_sequential_timing_stops_at_the_tolerance_or_the_maximum(trained_model_dir, shapes_data):
    images = _images(shapes_data)
    with create_backend("onnx", trained_model_dir, threads=1) as a, \
            create_backend("onnx", trained_model_dir, threads=1) as b:
        loose = measure_latency_sequential(a, b, images, warmup=1, tolerance=0.9, confidence=0.95,
                                           min_pairs=5, max_pairs=40, step=5)
        tight = measure_latency_sequential(a, b, images, warmup=1, tolerance=1e-9, confidence=0.95,
                                           min_pairs=5, max_pairs=12, step=5)
    assert loose.stopped == "interval within tolerance" and loose.pairs == 5
    assert loose.a.timed_runs == loose.b.timed_runs == 5
    assert loose.ratio_p50_ci_low <= loose.ratio_p50 <= loose.ratio_p50_ci_high
    # Never narrower than a billionth: sampling runs to the maximum (checked at 5, 10 and 12 pairs).
    assert tight.stopped == "maximum pairs reached" and tight.pairs == 12
    assert tight.confidence == 0.95


def _latency_rule_policy(severity: str = "fail") -> Policy:
    return Policy.model_validate({
        "name": "latency-only",
        "rules": [{"id": "latency", "metric": "latency_p50_ratio", "scope": {"suites": "all", "backends": "all"},
                   "check": {"max_value": 1.25}, "severity": severity}],
    })


def test_the_latency_ceiling_fails_only_when_the_whole_interval_is_beyond_it():
    policy = _latency_rule_policy()

    def judge(value, low, high):
        row = MetricComparison(metric="latency_p50_ratio", backend="onnx", candidate=value, baseline=1.0,
                               ci_low=low, ci_high=high)
        return apply_policy(policy, [row])[0].outcome

    assert judge(1.40, 1.30, 1.50) == "fail"
    assert judge(1.30, 1.10, 1.50) == "warn"  # beyond on its point estimate only: not shown
    assert judge(1.10, 0.90, 1.30) == "pass"
    assert judge(1.40, None, None) == "fail"  # a ratio without an interval (stored latencies) keeps the old rule


def test_the_same_model_against_itself_fails_the_latency_rule_within_alpha(trained_model_dir, shapes_data):
    """20 self-comparisons, timed as the gate times them and judged by the latency rule at severity fail."""
    policy = _latency_rule_policy()
    images = _images(shapes_data)
    failures = 0
    with create_backend("onnx", trained_model_dir, threads=1) as a, \
            create_backend("onnx", trained_model_dir, threads=1) as b:
        for seed in range(20):
            timing = measure_latency_sequential(a, b, images, warmup=1, tolerance=0.05, confidence=0.95,
                                                min_pairs=10, max_pairs=40, step=10, seed=seed)
            row = MetricComparison(metric="latency_p50_ratio", backend="onnx", candidate=timing.ratio_p50,
                                   baseline=1.0, ci_low=timing.ratio_p50_ci_low, ci_high=timing.ratio_p50_ci_high)
            failures += apply_policy(policy, [row])[0].outcome == "fail"
    assert failures <= 0.05 * 20


def test_a_timing_of_the_same_model_files_is_reused_unless_retimed(gate_env, tmp_path):
    import yaml

    from gate.policy import default_policy_path

    policy = yaml.safe_load(default_policy_path().read_text())
    policy["defaults"]["latency"] = {"tolerance": 0.5, "min_pairs": 5, "max_pairs": 10, "step": 5}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    logs: list[str] = []
    first = compare_results(gate_env.results, gate_env.results, policy_path=path, log=logs.append)
    timed = first.latency.backends["torch"]
    assert not timed.reused and timed.pairs is not None and timed.pairs >= 5 and timed.machine
    assert timed.p50_ratio_ci_low <= timed.latency_p50_ratio <= timed.p50_ratio_ci_high
    row = next(r for r in first.comparisons if r.metric == "latency_p50_ratio" and r.backend == "torch")
    assert (row.ci_low, row.ci_high) == (timed.p50_ratio_ci_low, timed.p50_ratio_ci_high)

    logs.clear()
    second = compare_results(gate_env.results, gate_env.results, policy_path=path, log=logs.append)
    again = second.latency.backends["torch"]
    assert again.reused and again.timed_at == timed.timed_at
    assert again.latency_p50_ratio == timed.latency_p50_ratio
    assert any("reusing the interleaved timing" in m for m in logs)
    assert "reused from the cache" in second.latency.measured

    third = compare_results(gate_env.results, gate_env.results, policy_path=path, retime=True)
    assert not third.latency.backends["torch"].reused
