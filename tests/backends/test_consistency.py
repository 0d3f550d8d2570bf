"""Detection-level consistency: set matching by class and IoU, disagreement rate, score and box drift."""

from __future__ import annotations

import numpy as np
import pytest

from gate.backends.consistency import BackendConsistency, compare_detections, match_detection_sets
from gate.backends.detections import Detections
from gate.errors import InputError


def det(image_id, rows):
    """Detections from (x1, y1, x2, y2, score, label) rows."""
    array = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
    return Detections(image_id, array[:, :4], array[:, 4], array[:, 5].astype(np.int64))


def test_identical_detections_agree_completely():
    ref = [det(1, [(10, 10, 50, 50, 0.9, 0), (60, 60, 90, 90, 0.7, 1)]), det(2, [])]
    result = compare_detections(ref, ref, backend="onnx", score_threshold=0.5)
    assert (result.matched, result.only_reference, result.only_candidate) == (2, 0, 0)
    assert result.disagreement_rate == 0.0
    assert result.score_drift_max == 0.0 and result.box_drift_max_px == 0.0
    assert result.images == 2 and result.images_with_disagreement == 0 and result.worst_images == []


@pytest.mark.parametrize(
    ("candidate_row", "matched"),
    [
        ((11, 10, 51, 50, 0.88, 0), True),  # 1 px shift: IoU 0.95, same class -> match
        ((14, 10, 54, 50, 0.90, 0), False),  # 4 px shift: IoU 0.82 < 0.9 -> two disagreements
        ((10, 10, 50, 50, 0.90, 2), False),  # same box, other class -> two disagreements
        ((10, 10, 50, 50, 0.40, 0), False),  # dropped below the operating point -> one disagreement
    ],
)
def test_one_pair(candidate_row, matched):
    ref = [det(1, [(10, 10, 50, 50, 0.9, 0)])]
    cand = [det(1, [candidate_row])]
    result = compare_detections(ref, cand, backend="int8", score_threshold=0.5)
    assert result.matched == int(matched)
    if matched:
        assert result.disagreement_rate == 0.0
        assert result.score_drift_max == pytest.approx(0.02, abs=1e-6)
        assert result.box_drift_max_px == pytest.approx(1.0)
    else:
        assert result.disagreement_rate == 1.0  # nothing matched: every detection on either side disagrees
        assert result.score_drift_median is None and result.box_drift_max_px is None
        assert result.worst_images[0].image_id == 1


def test_disagreement_rate_counts_both_sides():
    ref = [det(1, [(0, 0, 10, 10, 0.9, 0), (20, 20, 30, 30, 0.9, 0), (40, 40, 50, 50, 0.9, 1)])]
    cand = [det(1, [(0, 0, 10, 10, 0.8, 0), (70, 70, 80, 80, 0.9, 1)])]
    result = compare_detections(ref, cand, backend="onnx", score_threshold=0.5)
    # matched 1; only in reference 2; only in candidate 1; total detections 5.
    assert (result.matched, result.only_reference, result.only_candidate) == (1, 2, 1)
    assert result.disagreement_rate == pytest.approx(3 / 5)


def test_matching_is_one_to_one_and_prefers_the_best_iou():
    ref = det(1, [(0, 0, 100, 100, 0.9, 0)])
    cand = det(1, [(1, 0, 101, 100, 0.9, 0), (0, 0, 100, 100, 0.8, 0)])
    assert match_detection_sets(ref, cand, 0.9) == [(0, 1)]
    result = compare_detections([ref], [cand], backend="onnx", score_threshold=0.5)
    assert result.matched == 1 and result.only_candidate == 1


def test_iou_threshold_is_configurable():
    ref = [det(1, [(10, 10, 50, 50, 0.9, 0)])]
    cand = [det(1, [(14, 10, 54, 50, 0.9, 0)])]
    assert compare_detections(ref, cand, backend="onnx", score_threshold=0.5).matched == 0
    loose = compare_detections(ref, cand, backend="onnx", score_threshold=0.5, iou_threshold=0.8)
    assert loose.matched == 1 and loose.iou_threshold == 0.8


def test_drift_statistics_are_median_and_max_over_pairs():
    ref = [det(1, [(0, 0, 10, 10, 0.9, 0)]), det(2, [(0, 0, 10, 10, 0.9, 0)]), det(3, [(0, 0, 10, 10, 0.9, 0)])]
    cand = [det(1, [(0, 0, 10, 10, 0.9, 0)]), det(2, [(0, 0, 10.2, 10, 0.85, 0)]),
            det(3, [(0, 0, 10.4, 10, 0.6, 0)])]
    result = compare_detections(ref, cand, backend="onnx", score_threshold=0.5)
    assert result.score_drift_median == pytest.approx(0.05, abs=1e-6)
    assert result.score_drift_max == pytest.approx(0.3, abs=1e-6)
    assert result.box_drift_median_px == pytest.approx(0.2, abs=1e-5)
    assert result.box_drift_max_px == pytest.approx(0.4, abs=1e-5)


def test_result_round_trips_through_json():
    ref = [det(1, [(0, 0, 10, 10, 0.9, 0)])]
    cand = [det(1, [(0, 0, 10, 10, 0.9, 1)])]
    result = compare_detections(ref, cand, backend="int8", score_threshold=0.5)
    assert BackendConsistency.model_validate_json(result.model_dump_json()) == result


def test_different_image_sets_and_bad_iou_are_input_errors():
    with pytest.raises(InputError, match="different images"):
        compare_detections([det(1, [])], [det(2, [])], backend="onnx", score_threshold=0.5)
    with pytest.raises(InputError, match="IoU threshold"):
        compare_detections([det(1, [])], [det(1, [])], backend="onnx", score_threshold=0.5, iou_threshold=0)
