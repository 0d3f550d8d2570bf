"""Paired image bootstrap: determinism, no false alarms on equal models, planted drops found."""

from __future__ import annotations

import numpy as np
import pytest

from gate.errors import InputError, RefusedError
from gate.eval import BootstrapComparison, match, paired_bootstrap, resample_weights
from tests.eval.cases import CLASSES, traffic_scene as _scene, without_private_keys as _clean

RESAMPLES = 300


@pytest.fixture(scope="module")
def scene():
    gt, dets = _scene()
    return gt, dets, match(gt, _clean(dets))


def _contains_zero(d):
    return d.ci_low <= 0.0 <= d.ci_high


def test_same_seed_gives_identical_results(scene):
    gt, dets, baseline = scene
    rng = np.random.default_rng(1)
    candidate = match(gt, _clean([d for d in dets if rng.random() < 0.9]))
    a = paired_bootstrap(candidate, baseline, resamples=100, seed=7)
    b = paired_bootstrap(candidate, baseline, resamples=100, seed=7)
    c = paired_bootstrap(candidate, baseline, resamples=100, seed=8)
    assert a == b
    assert a.model_dump_json() == b.model_dump_json()
    assert a.find("ap").ci_low != c.find("ap").ci_low


def test_resample_draws_are_a_fixed_function_of_the_seed():
    assert all(np.array_equal(x, y) for x, y in zip(resample_weights(50, 5, 3), resample_weights(50, 5, 3)))
    assert all(w.sum() == 50 for w in resample_weights(50, 5, 3))


def test_candidate_equal_to_baseline_has_every_ci_containing_zero(scene):
    gt, dets, baseline = scene
    shuffled = _clean([dets[i] for i in np.random.default_rng(2).permutation(len(dets))])
    candidate = match(gt, shuffled)  # same detections, listed in another order
    comparison = paired_bootstrap(candidate, baseline, resamples=RESAMPLES, seed=0)
    rows = [d for d in comparison.deltas if d.ci_low is not None]
    assert len(rows) > 50
    assert all(_contains_zero(d) for d in rows)
    assert all(d.delta == 0.0 and d.p_worse == 1.0 for d in rows)


def test_planted_drop_on_one_class_shows_below_zero_for_that_class_only(scene):
    gt, dets, baseline = scene
    stop = CLASSES.index("stop") + 1
    rng = np.random.default_rng(3)
    # the candidate loses 60% of its true stop-sign detections; everything else is unchanged
    candidate_dets = [d for d in dets if not (d["_gt_class"] == stop and d["category_id"] == stop and rng.random() < 0.6)]
    candidate = match(gt, _clean(candidate_dets))
    comparison = paired_bootstrap(candidate, baseline, resamples=RESAMPLES, seed=0)
    for metric in ("ap", "ap50", "recall_at_threshold"):
        drop = comparison.find(metric, class_name="stop")
        assert drop.ci_high < 0 and drop.delta < 0, (metric, drop)
        assert drop.p_worse < 0.01 and drop.status == "ok"
        for name in CLASSES[1:]:
            other = comparison.find(metric, class_name=name)
            assert _contains_zero(other), (metric, name, other)
    assert comparison.find("ap50").ci_high < 0  # the overall figure carries the drop too


def test_worse_false_positives_rate_is_worse_for_a_lower_is_better_metric(scene):
    gt, dets, baseline = scene
    rng = np.random.default_rng(4)
    extra = [{"image_id": int(i), "category_id": 1, "bbox": [700.0, 500.0, 40.0, 40.0], "score": 0.9}
             for i in rng.integers(1, 241, 120)]
    candidate = match(gt, _clean(dets) + extra)
    fp = paired_bootstrap(candidate, baseline, resamples=RESAMPLES, seed=0).find("fp_per_image")
    assert not fp.higher_is_better
    assert fp.delta > 0 and fp.ci_low > 0 and fp.p_worse < 0.01


def test_more_speed_limit_confusion_is_reported_per_pair(scene):
    gt, dets, baseline = scene
    s30, s80 = CLASSES.index("speed_limit_30") + 1, CLASSES.index("speed_limit_80") + 1
    swapped = [dict(d, category_id=s80) if d["category_id"] == s30 and d["_gt_class"] == s30 else d for d in dets]
    candidate = match(gt, _clean(swapped))
    row = paired_bootstrap(candidate, baseline, resamples=RESAMPLES, seed=0).find(
        "confusion", class_name="speed_limit_30->speed_limit_80")
    assert row.value_candidate > 0.8 and row.value_baseline == 0.0
    assert row.ci_low > 0 and row.p_worse < 0.01


def test_classes_below_min_support_are_marked_not_judged(scene):
    gt, dets, baseline = scene
    comparison = paired_bootstrap(baseline, baseline, resamples=50, seed=0, min_support=10_000)
    scoped = [d for d in comparison.deltas if d.class_name or d.size]
    assert scoped and all(d.status == "insufficient_support" for d in scoped)
    assert comparison.find("ap").status == "ok"  # overall rows are never "insufficient"


def test_different_ground_truth_is_refused(scene):
    gt, dets, baseline = scene
    other_gt, other_dets = _scene(seed=5, n_images=30)
    with pytest.raises(RefusedError, match="different ground truth"):
        paired_bootstrap(match(other_gt, _clean(other_dets)), baseline)


def test_bad_parameters_are_input_errors(scene):
    _, _, baseline = scene
    with pytest.raises(InputError, match="resamples"):
        paired_bootstrap(baseline, baseline, resamples=0)
    with pytest.raises(InputError, match="confidence"):
        paired_bootstrap(baseline, baseline, confidence=1.5)


def test_comparison_saves_and_loads_back_equal(scene, tmp_path):
    _, _, baseline = scene
    comparison = paired_bootstrap(baseline, baseline, resamples=30, seed=0)
    comparison.save(tmp_path / "c.json")
    assert BootstrapComparison.load(tmp_path / "c.json") == comparison
