"""The vectorised bootstrap computes, bit for bit, what one resample at a time computes."""

from __future__ import annotations

import numpy as np
import pytest

from gate.eval import match, paired_bootstrap
from gate.eval.accumulation import within_image_ties
from gate.eval.bootstrap import GRID_METRICS, _RowLayout, iter_resample_weights
from gate.eval.metrics import MetricEngine
from gate.eval.sizes import DEFAULT_SIZE_SCHEME, size_scheme
from tests.eval.cases import dataset, random_case, traffic_scene, without_private_keys


def _one_at_a_time_and_batched(records, resamples: int, seed: int):
    weights = np.stack(list(iter_resample_weights(records.num_images, resamples, seed)))
    copies = int(weights.max()) if within_image_ties(records) else 1
    buckets = size_scheme(DEFAULT_SIZE_SCHEME)
    engine = MetricEngine(records, 0.5, buckets, tie_copies=copies)
    full = engine.compute()
    k = records.num_categories
    seen = full.confusion[:k, :k] > 0
    np.fill_diagonal(seen, False)
    layout = _RowLayout(records, tuple(b.name for b in buckets), False,
                        [(int(i), int(j)) for i, j in zip(*np.nonzero(seen))])
    one = np.stack([layout.vector(engine.compute(w, all_max_dets=False)) for w in weights])
    batched = np.concatenate([layout.vector_batch(engine.compute_batch(weights[i:i + 7]))
                              for i in range(0, resamples, 7)])
    return one, batched


@pytest.mark.parametrize("seed", range(40))
def test_batched_metrics_equal_one_resample_at_a_time_on_random_cases(seed):
    """Random COCO cases: tied scores within an image, crowd regions, empty images and classes."""
    gt, dets = random_case(np.random.default_rng(seed))
    records = match(dataset(gt), dets)
    one, batched = _one_at_a_time_and_batched(records, 20, seed)
    assert one.shape == batched.shape
    assert np.array_equal(one, batched, equal_nan=True)  # bit for bit, NaN where undefined


def test_batched_metrics_equal_one_resample_at_a_time_on_a_traffic_scene():
    gt, dets = traffic_scene()
    records = match(gt, without_private_keys(dets))
    one, batched = _one_at_a_time_and_batched(records, 50, 3)
    assert np.array_equal(one, batched, equal_nan=True)
    assert len(GRID_METRICS) == 7


def test_a_pinned_bootstrap_interval_stays_bit_identical():
    """One interval's exact bits for a fixed seed: a change of summation order or of the resample draw
    shows here, not as a silent shift of every verdict."""
    gt, dets = traffic_scene()
    baseline = match(gt, without_private_keys(dets))
    rng = np.random.default_rng(1)
    candidate = match(gt, without_private_keys([d for d in dets if rng.random() < 0.9]))
    comparison = paired_bootstrap(candidate, baseline, resamples=200, seed=7)
    ap = comparison.find("ap")
    assert (ap.ci_low.hex(), ap.ci_high.hex()) == PINNED_AP_INTERVAL


PINNED_AP_INTERVAL = ("-0x1.57a45d688ffd1p-4", "-0x1.9d5322d678948p-5")  # as computed one resample at a time before batching


def test_resamples_split_across_processes_give_the_same_comparison(monkeypatch):
    import gate.eval.bootstrap as bootstrap

    # Batches of one weighting, so 120 resamples are enough to be split three ways (3 forked processes).
    monkeypatch.setattr(bootstrap, "BATCH_GRID_ELEMENTS", 1)
    gt, dets = traffic_scene()
    baseline = match(gt, without_private_keys(dets))
    rng = np.random.default_rng(2)
    candidate = match(gt, without_private_keys([d for d in dets if rng.random() < 0.85]))
    alone = paired_bootstrap(candidate, baseline, resamples=120, seed=5)
    split = paired_bootstrap(candidate, baseline, resamples=120, seed=5, workers=3)
    assert split.model_dump_json() == alone.model_dump_json()
