"""Model signals on planted detections: uncertainty, margin, entropy, rarity, tiny signs, disagreement."""

from __future__ import annotations

import numpy as np
import pytest

from gate.backends.detections import Detections
from gate.mining import signals
from gate.mining.rarity import rarity_from_counts
from gate.mining.results import MinedDetection

NAMES = ["speed_limit_30", "speed_limit_80", "stop", "pedestrians"]


def det(score, label=0, box=(10, 10, 40, 40), runner_up=None, runner_up_score=None, entropy=None):
    return MinedDetection(box=list(box), score=score, label=label, class_name=NAMES[label], runner_up=runner_up,
                          runner_up_score=runner_up_score, entropy=entropy)


def dets(image_id, rows):
    """rows: (x0, y0, x1, y1, score, label)."""
    array = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
    return Detections(image_id, array[:, :4], array[:, 4], array[:, 5].astype(np.int64))


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([0.5], 1.0),  # exactly at the threshold
        ([0.95, 0.6], 0.6),  # the closest one counts: 1 - 0.1 / 0.25
        ([0.3], 0.2),  # below the threshold, inside the band
        ([0.9], 0.0),  # confidently above
        ([], 0.0),
    ],
)
def test_near_threshold_strength(scores, expected):
    reading = signals.near_threshold([det(s) for s in scores], threshold=0.5, band=0.25)
    assert reading.strength == pytest.approx(expected)
    assert (reading.reason is not None) == (expected > 0)


def test_class_margin_names_the_two_close_classes():
    reading = signals.class_margin([det(0.9, 2, runner_up="speed_limit_30", runner_up_score=0.02),
                                    det(0.41, 0, runner_up="speed_limit_80", runner_up_score=0.38)])
    assert reading.strength == pytest.approx(0.38 / 0.41)
    assert reading.reason == "classes close: speed_limit_30 0.41 vs speed_limit_80 0.38"


def test_class_margin_reports_the_pair_best_first_when_the_detection_is_the_lower_class():
    reading = signals.class_margin([det(0.38, 1, runner_up="speed_limit_30", runner_up_score=0.41)])
    assert reading.strength == pytest.approx(0.38 / 0.41)
    assert reading.reason == "classes close: speed_limit_30 0.41 vs speed_limit_80 0.38"


def test_class_entropy_takes_the_most_uncertain_detection():
    reading = signals.class_entropy([det(0.9, entropy=0.2), det(0.6, 1, entropy=0.55), det(0.7)])
    assert reading.strength == pytest.approx(0.5)  # ramp 0.3 -> 0, 0.8 -> 1
    assert reading.measurements == {"max_class_entropy": 0.55}
    assert "speed_limit_80" in reading.reason


@pytest.mark.parametrize(("entropy", "expected"), [(0.25, 0.0), (0.3, 0.0), (0.8, 1.0), (0.97, 1.0)])
def test_class_entropy_ramp(entropy, expected):
    assert signals.class_entropy([det(0.6, entropy=entropy)]).strength == pytest.approx(expected)


def test_describe_detections_reads_runner_up_and_entropy_from_the_class_vector():
    found = dets(1, [(0, 0, 20, 20, 0.41, 0), (30, 0, 60, 20, 0.1, 2)])
    vectors = np.array([[0.41, 0.38, 0.01, 0.0], [0.0, 0.0, 0.1, 0.0]], dtype=np.float32)
    described = signals.describe_detections(found, vectors, NAMES, floor=0.25, top_classes=3)
    assert len(described) == 1  # 0.1 is below the considered floor
    d = described[0]
    assert (d.class_name, d.runner_up) == ("speed_limit_30", "speed_limit_80")
    assert d.runner_up_score == pytest.approx(0.38)
    p = np.array([0.41, 0.38, 0.01]) / 0.8
    assert d.entropy == pytest.approx(float(-(p * np.log(p)).sum() / np.log(3)), abs=1e-5)


def test_rare_class_prefers_the_rarest_and_counts_labelled_boxes():
    table = rarity_from_counts(NAMES, {"speed_limit_30": 100, "speed_limit_80": 100, "stop": 40,
                                       "pedestrians": 10}, "planted")
    # median of (100, 100, 40, 10) = 70: stop 1 - 40/70, pedestrians 1 - 10/70, the others 0
    assert [c.rarity for c in table.classes] == pytest.approx([0.0, 0.0, 1 - 40 / 70, 1 - 10 / 70], abs=1e-6)
    common = signals.rare_class([det(0.9, 0)], table)
    assert common.strength == 0.0
    detected = signals.rare_class([det(0.9, 0), det(0.6, 2)], table)
    assert detected.strength == pytest.approx(1 - 40 / 70, abs=1e-6)
    assert detected.reason == "rare class detected: stop (40 training boxes)"
    labelled = signals.rare_class([det(0.9, 2)], table, labelled_labels=[3])
    assert labelled.strength == pytest.approx(1 - 10 / 70, abs=1e-6)
    assert "rare class labelled: pedestrians" in labelled.reason


def test_unseen_class_has_rarity_one():
    table = rarity_from_counts(NAMES, {"speed_limit_30": 5, "speed_limit_80": 5, "stop": 5}, "planted")
    assert table.classes[3].rarity == 1.0 and table.classes[3].training_boxes == 0


@pytest.mark.parametrize(
    ("boxes", "expected"),
    [
        ([(0, 0, 40, 40)], 0.0),
        ([(0, 0, 12, 15)], 1 / 3),  # longer side 15 < 16
        ([(0, 0, 12, 16)], 0.0),  # 16 is not tiny
        ([(0, 0, 5, 5)] * 4, 1.0),  # saturates at 3
    ],
)
def test_tiny_objects(boxes, expected):
    reading = signals.tiny_objects([det(0.8, box=b) for b in boxes], tiny_px=16, saturation=3)
    assert reading.strength == pytest.approx(expected)


A = (10, 10, 50, 50)
B = (100, 10, 140, 50)


@pytest.mark.parametrize(
    ("reference", "candidate", "expected"),
    [
        ([(*A, 0.9, 0)], [(*A, 0.88, 0)], (0, 0, 0)),  # same sign, same class
        ([(*A, 0.9, 0)], [], (1, 0, 0)),  # missing in the candidate
        ([], [(*A, 0.9, 0)], (0, 1, 0)),  # only in the candidate
        ([(*A, 0.9, 0)], [(*A, 0.9, 1)], (0, 0, 1)),  # same place, another class: counted once
        ([(*A, 0.9, 0)], [(*A, 0.45, 0)], (1, 0, 0)),  # fell below the operating threshold
        ([(*A, 0.9, 0), (*B, 0.8, 2)], [(*B, 0.8, 2), (*A, 0.7, 1)], (0, 0, 1)),
        ([(*A, 0.9, 0)], [(*B, 0.9, 1)], (1, 1, 0)),  # different places: not a class change
        ([(*A, 0.3, 0)], [(*B, 0.2, 1)], (0, 0, 0)),  # both below the threshold
    ],
)
def test_count_disagreement(reference, candidate, expected):
    found = signals.count_disagreement(dets(1, reference), dets(1, candidate), threshold=0.5, iou=0.5)
    assert (found.only_reference, found.only_candidate, found.class_changed) == expected


def test_backend_disagreement_reports_the_worst_backend():
    reading = signals.backend_disagreement(
        {"onnx": signals.Disagreement(0, 0, 0), "int8": signals.Disagreement(1, 0, 1)}, "torch", saturation=2)
    assert reading.strength == 1.0
    assert reading.reason == "torch and int8 disagree: 1 missing in int8, 1 with another class"
    assert reading.measurements == {"disagreements_int8": 2, "disagreements_onnx": 0}


def test_backends_that_agree_give_no_reason():
    reading = signals.backend_disagreement({"int8": signals.Disagreement(0, 0, 0)}, "torch", saturation=2)
    assert reading.strength == 0.0 and reading.reason is None


def test_missed_and_confused_signals():
    errors = signals.LabelledErrors(labelled_signs=4, missed=1, confusions=[("stop", "give_way")], false_positives=2)
    missed, confused = signals.missed_signal(errors), signals.confused_signal(errors)
    assert missed.strength == pytest.approx(0.25)
    assert missed.reason == "missed 1 of 4 labelled signs"
    assert confused.strength == 1.0
    assert confused.reason == "confused: labelled stop, predicted give_way"
    clean = signals.LabelledErrors(labelled_signs=3, missed=0, confusions=[], false_positives=0)
    assert signals.missed_signal(clean).strength == 0.0 and signals.confused_signal(clean).reason is None


def test_negative_image_has_no_missed_signal():
    errors = signals.LabelledErrors(labelled_signs=0, missed=0, confusions=[], false_positives=1)
    assert signals.missed_signal(errors).strength == 0.0
