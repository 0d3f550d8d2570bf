"""Sequence metrics on hand-made drives whose answers are known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from gate.errors import InputError, RefusedError
from gate.eval.sequence import (
    ConfirmationRule,
    FrameDetections,
    FrameTruth,
    drive_resample_weights,
    evaluate_sequences,
    paired_sequence_bootstrap,
)
from gate.data.sequence import SequenceDrive, SequenceTable, SequenceTrack

NAMES = {1: "speed_limit_30", 2: "speed_limit_50", 4: "speed_limit_80", 14: "give_way", 15: "stop",
         28: "end_of_speed_limit"}
LETTERS = {"A": 2, "B": 4, "C": 1, "G": 14, "S": 15, "E": 28}  # A = 50, B = 80, C = 30, E = end of limit
FPS, SPEED = 5.0, 10.0  # 2 m per frame


def _drive(drive_id: str, frames: int, tracks: list[dict], limits: list[int] | None = None, first_image: int = 1):
    """A drive whose track i (0-based) stands at x = 20 + 60 i; `tracks` items: category, first, last, passed_frame,
    readings (one letter or '.' per frame of the drive, what the model reads on that track)."""
    image_ids = list(range(first_image, first_image + frames))
    seq_tracks, truth, dets = [], {i: [] for i in image_ids}, {i: [] for i in image_ids}
    for n, t in enumerate(tracks, start=1):
        seq_tracks.append(SequenceTrack(track_id=n, category_id=t["category"], first_frame=t["first"],
                                        last_frame=t["last"], passed=t["last"] < frames - 1,
                                        passed_frame=t.get("passed_frame", t["last"] + 1), ignore=t.get("ignore", False)))
        box = [20 + 60 * n, 30, 40 + 60 * n, 50]
        for f in range(t["first"], t["last"] + 1):
            truth[image_ids[f]].append((n, t["category"], box, 2.0 * (t["passed_frame"] - f)
                                        if "passed_frame" in t else 2.0 * (t["last"] + 1 - f)))
        for f, letter in enumerate(t.get("readings", "")):
            if letter != ".":
                dets[image_ids[f]].append((box, LETTERS[letter], 0.9))
    drive = SequenceDrive(id=drive_id, fps=FPS, speed_mps=SPEED, image_ids=image_ids,
                          odometer_m=[2.0 * f for f in range(frames)],
                          speed_limit=limits if limits is not None else [-1] * frames, tracks=seq_tracks)
    return drive, truth, dets


def _frames(truth, dets):
    ft = {i: FrameTruth(np.array([t[0] for t in v], np.int64), np.array([t[1] for t in v], np.int64),
                        np.array([t[2] for t in v], np.float64).reshape(-1, 4), np.array([t[3] for t in v], np.float64))
          for i, v in truth.items()}
    fd = {i: FrameDetections(np.array([d[0] for d in v], np.float64).reshape(-1, 4), np.array([d[1] for d in v], np.int64),
                             np.array([d[2] for d in v], np.float64)) for i, v in dets.items()}
    return ft, fd


def evaluate(drives, rule=ConfirmationRule(k=2, m=3), extra_dets=None):
    truth, dets = {}, {}
    for _, t, d in drives:
        truth.update(t)
        dets.update(d)
    for image_id, items in (extra_dets or {}).items():
        dets[image_id] = dets.get(image_id, []) + items
    table = SequenceTable(drives=[d for d, _, _ in drives], frames=sum(len(d.image_ids) for d, _, _ in drives),
                          tracks=sum(len(d.tracks) for d, _, _ in drives),
                          length_m=sum(d.length_m for d, _, _ in drives))
    ft, fd = _frames(truth, dets)
    return evaluate_sequences(table, ft, fd, NAMES, rule)


def test_confirmation_rule_k_of_m():
    # Read in frames 0 and 2: 2 of the 3 frames ending at 2, so confirmed at frame 2 (distance 2 * (6 - 2) = 8 m).
    one = _drive("d1", 8, [dict(category=14, first=0, last=5, readings="G.G.....")])
    # Read in frames 0 and 3: never 2 of 3 consecutive frames, never confirmed.
    two = _drive("d2", 8, [dict(category=14, first=0, last=5, readings="G..G....")], first_image=100)
    result = evaluate([one, two])
    first, second = result.drives[0].tracks[0], result.drives[1].tracks[0]
    assert first.confirmed_frame == 2 and first.confirmation_distance_m == pytest.approx(8.0)
    assert first.recognised_before_passing
    assert second.confirmed_frame is None and not second.recognised_before_passing
    assert result.metrics()["sign_recognised_before_passing"] == pytest.approx(0.5)
    # With 1 of 1 both are confirmed at their first reading.
    loose = evaluate([one, two], rule=ConfirmationRule(k=1, m=1))
    assert loose.metrics()["sign_recognised_before_passing"] == 1.0


def test_wrong_class_does_not_confirm_and_confirmation_after_leaving_view_is_too_late():
    wrong = _drive("d1", 10, [dict(category=15, first=0, last=4, readings="GGGG......")])
    late = _drive("d2", 10, [dict(category=15, first=0, last=4, readings="....SS....")], first_image=50)
    metrics = evaluate([wrong, late]).metrics()
    assert metrics["sign_recognised_before_passing"] == 0.0


def test_never_confirmed_track_counts_as_zero_distance():
    # Tracks confirmed at 20 m and 30 m, and one never confirmed: distances [0, 20, 30].
    drive = _drive("d1", 20, [
        dict(category=14, first=0, last=14, passed_frame=15, readings="GGGGGGGGGGGGGGG"),  # confirmed at frame 1
        dict(category=15, first=0, last=14, passed_frame=15, readings="....SS........."),  # confirmed at frame 5
        dict(category=14, first=0, last=14, passed_frame=15, readings=""),
    ])
    result = evaluate([drive])
    distances = sorted(t.confirmation_distance_m for t in result.drives[0].tracks)
    assert distances == pytest.approx([0.0, 20.0, 28.0])
    metrics = result.metrics()
    assert metrics["first_confirmation_distance_median"] == pytest.approx(20.0)
    assert metrics["first_confirmation_distance_p10"] == pytest.approx(0.0)


def test_speed_limit_change_with_and_without_its_sign():
    # A 50 sign visible in frames 0-5, passed at frame 7; the limit in force is unknown before, 50 from frame 7.
    limits = [-1] * 7 + [50] * 5
    seen = _drive("d1", 12, [dict(category=2, first=0, last=5, passed_frame=7, readings="AAAAAA")], limits)
    missed = _drive("d2", 12, [dict(category=2, first=0, last=5, passed_frame=7, readings="")], limits, first_image=50)
    with_sign = evaluate([seen])
    assert with_sign.drives[0].limit_reading == limits
    m = with_sign.metrics()
    assert m["speed_limit_change_accuracy"] == 1.0 and m["speed_limit_accuracy"] == 1.0
    without = evaluate([missed]).metrics()
    assert without["speed_limit_change_accuracy"] == 0.0
    assert without["speed_limit_accuracy"] == 0.0  # 5 known frames, the car still reads nothing
    both = evaluate([seen, missed]).metrics()
    assert both["speed_limit_change_accuracy"] == 0.5 and both["speed_limit_accuracy"] == 0.5


def test_misread_limit_is_a_wrong_reading_and_a_missed_change():
    limits = [-1] * 7 + [50] * 5
    misread = _drive("d1", 12, [dict(category=2, first=0, last=5, passed_frame=7, readings="BBBBBB")], limits)
    result = evaluate([misread])
    assert result.drives[0].limit_reading == [-1] * 7 + [80] * 5
    assert result.metrics()["speed_limit_accuracy"] == 0.0
    assert result.metrics()["speed_limit_change_accuracy"] == 0.0


def test_end_of_limit():
    # 80 passed at frame 5, end of limit passed at frame 12: truth 80 for frames 5-11, then no limit (0).
    limits = [-1] * 5 + [80] * 7 + [0] * 4
    tracks = [dict(category=4, first=0, last=3, passed_frame=5, readings="BBBB"),
              dict(category=28, first=6, last=10, passed_frame=12, readings="......EEEEE")]
    result = evaluate([_drive("d1", 16, tracks, limits)])
    assert result.drives[0].limit_reading == limits
    assert result.metrics()["speed_limit_accuracy"] == 1.0
    assert result.metrics()["speed_limit_change_accuracy"] == 1.0
    # The end-of-limit sign missed: the car keeps reading 80 for the 4 frames without a limit.
    tracks[1]["readings"] = ""
    missed = evaluate([_drive("d1", 16, tracks, limits)]).metrics()
    assert missed["speed_limit_accuracy"] == pytest.approx(7 / 11)
    assert missed["speed_limit_change_accuracy"] == 0.5


def test_repeated_limit_is_not_a_change():
    limits = [-1] * 5 + [50] * 10
    tracks = [dict(category=2, first=0, last=3, passed_frame=5, readings="AAAA"),
              dict(category=2, first=6, last=9, passed_frame=11, readings="")]
    result = evaluate([_drive("d1", 15, tracks, limits)])
    assert [t.limit_change for t in result.drives[0].tracks] == [True, False]
    assert result.metrics()["speed_limit_change_accuracy"] == 1.0


def test_flicker_counts_class_changes_and_drop_outs_after_confirmation():
    # Confirmed at frame 1; frames 1..9: A A B A A . A A A -> changes A->B, B->A, A->. = 3 events in 8 frames.
    drive = _drive("d1", 12, [dict(category=2, first=0, last=9, readings="AAABAA.AAA")])
    result = evaluate([drive])
    track = result.drives[0].tracks[0]
    assert track.flicker_events == 3
    assert track.confirmed_seconds == pytest.approx(8 / FPS)
    assert result.metrics()["flicker_rate"] == pytest.approx(3 / 1.6)
    steady = evaluate([_drive("d1", 12, [dict(category=2, first=0, last=9, readings="AAAAAAAAAA")])])
    assert steady.metrics()["flicker_rate"] == 0.0


def test_false_sign_events_per_km():
    drive = _drive("d1", 11, [dict(category=14, first=0, last=3, readings="GGGG")])  # 10 frames x 2 m = 20 m
    ghost = [([300, 10, 320, 30], 15, 0.8)]
    extra = {3: ghost, 4: ghost, 5: ghost}  # a stop sign where there is none, three frames: confirmed once
    one_off = {8: ghost}  # one frame only: never confirmed
    result = evaluate([drive], extra_dets={**extra, **one_off})
    assert result.drives[0].false_sign_events == 1
    assert result.metrics()["false_sign_events_per_km"] == pytest.approx(1 / 0.02)


def test_unpassed_and_ignored_tracks_do_not_count_for_recognition():
    tracks = [dict(category=14, first=0, last=4, readings="GGGGG"),
              dict(category=15, first=5, last=9, readings=""),  # still in view at the end of the drive
              dict(category=15, first=0, last=4, readings="", ignore=True)]
    result = evaluate([_drive("d1", 10, tracks)])
    assert result.metrics()["sign_recognised_before_passing"] == 1.0


def test_drive_bootstrap_is_paired_and_deterministic():
    drives_a, drives_b = [], []
    for n in range(12):
        good = "GGGGG" if n % 3 else "....."
        drives_a.append(_drive(f"d{n}", 8, [dict(category=14, first=0, last=4, readings="GGGGG")], first_image=n * 10))
        drives_b.append(_drive(f"d{n}", 8, [dict(category=14, first=0, last=4, readings=good)], first_image=n * 10))
    a, b = evaluate(drives_a), evaluate(drives_b)
    deltas = paired_sequence_bootstrap(b, a, resamples=300, seed=1, min_support=1)
    again = paired_sequence_bootstrap(b, a, resamples=300, seed=1, min_support=1)
    assert [d.model_dump() for d in deltas] == [d.model_dump() for d in again]
    row = next(d for d in deltas if d.metric == "sign_recognised_before_passing" and d.class_name is None)
    assert row.delta == pytest.approx(-4 / 12)
    assert row.ci_high < 0 and row.p_worse < 0.05
    same = paired_sequence_bootstrap(a, a, resamples=50, seed=0)
    assert all(d.delta in (0.0, None) and d.ci_low in (0.0, None) for d in same)
    weights = drive_resample_weights(12, 5, 0)
    assert weights.shape == (5, 12) and (weights.sum(axis=1) == 12).all()


def test_bootstrap_refuses_different_drives():
    a = evaluate([_drive("d1", 8, [dict(category=14, first=0, last=4)])])
    b = evaluate([_drive("d2", 8, [dict(category=14, first=0, last=4)])])
    with pytest.raises(RefusedError):
        paired_sequence_bootstrap(a, b, resamples=10)


def test_bad_rule():
    with pytest.raises(InputError):
        ConfirmationRule(k=3, m=2)
