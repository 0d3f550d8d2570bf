"""One model's bootstrap intervals: the value is the full-data figure, the interval brackets it and is seeded."""

from __future__ import annotations

from gate.eval.evaluation import evaluate_with_records
from gate.eval.intervals import metric_intervals
from tests.eval.cases import traffic_scene, without_private_keys


def _records(n_images=60):
    gt, dets = traffic_scene(seed=3, n_images=n_images)
    result, records = evaluate_with_records(gt, without_private_keys(dets), tide=False)
    return result, records


def test_values_equal_the_evaluation_and_lie_in_their_interval():
    result, records = _records()
    rows = metric_intervals(records, resamples=200, seed=1)
    overall = next(r for r in rows if r.metric == "ap50" and r.class_name is None and r.size is None)
    assert abs(overall.value - result.coco_stats[1]) < 1e-9
    for cls in result.per_class:
        row = next(r for r in rows if r.metric == "ap50" and r.class_name == cls.name)
        assert row.support == cls.support
        if cls.support:
            assert abs(row.value - cls.ap50) < 1e-9
            assert row.ci_low <= row.value <= row.ci_high
    for size in result.per_size:
        row = next(r for r in rows if r.metric == "ap" and r.size == size.name)
        assert (row.value is None) == (size.support == 0)


def test_intervals_are_seeded_and_narrow_with_more_images():
    _, small = _records(40)
    _, large = _records(400)
    first = metric_intervals(small, resamples=200, seed=1)
    assert first == metric_intervals(small, resamples=200, seed=1)

    def width(rows):
        row = next(r for r in rows if r.metric == "ap" and r.class_name is None and r.size is None)
        return row.ci_high - row.ci_low

    assert width(metric_intervals(large, resamples=200, seed=1)) < width(first)
