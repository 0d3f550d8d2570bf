"""Planted regressions do exactly what they say on hand-made tracks."""

from __future__ import annotations

import numpy as np

from gate.backends.detections import Detections
from gate.run.planted import class_swap_every_third, late_recognition
from gate.eval.sequence import FrameTruth
from gate.data.sequence import SequenceDrive, SequenceTable, SequenceTrack

BOX = [10.0, 10.0, 30.0, 30.0]


def _setup(frames: int = 10):
    ids = list(range(1, frames + 1))
    table = SequenceTable(drives=[SequenceDrive(
        id="d", fps=5, speed_mps=10, image_ids=ids, odometer_m=[2.0 * i for i in range(frames)],
        speed_limit=[-1] * frames, tracks=[SequenceTrack(track_id=1, category_id=2, first_frame=0,
                                                         last_frame=frames - 1, passed=False, passed_frame=frames)])],
        frames=frames, tracks=1, length_m=18.0)
    truth = {i: FrameTruth(np.array([1]), np.array([2]), np.array([BOX]), np.array([20.0])) for i in ids}
    return table, truth, ids


def _dets(ids, scores, label=1):
    return [Detections(image_id=i, boxes=np.array([BOX], np.float32), scores=np.array([s], np.float32),
                       labels=np.array([label])) if s is not None else
            Detections(image_id=i, boxes=np.zeros((0, 4), np.float32), scores=np.zeros(0, np.float32),
                       labels=np.zeros(0, np.int64)) for i, s in zip(ids, scores, strict=True)]


def test_late_recognition_on_visible_frames_deletes_the_first_40_percent():
    table, truth, ids = _setup()
    out = late_recognition(_dets(ids, [0.9] * 10), table, truth, 0.4)
    assert [len(d.scores) for d in out] == [0] * 4 + [1] * 6


def test_late_recognition_on_detected_frames_and_demotion():
    table, truth, ids = _setup()
    scores = [None, None, 0.3, 0.9, None, 0.8, 0.9, 0.9, 0.9, 0.9]  # detected at 0.5 in frames 3, 5, 6, 7, 8, 9
    out = late_recognition(_dets(ids, scores), table, truth, 0.4, basis="detected", threshold=0.5)
    assert [len(d.scores) for d in out] == [0, 0, 1, 0, 0, 0, 0, 1, 1, 1]  # frames 3, 5 and 6 taken
    demoted = late_recognition(_dets(ids, scores), table, truth, 0.4, basis="detected", threshold=0.5, demote=0.5)
    assert [round(float(d.scores[0]), 4) if len(d.scores) else None for d in demoted] == \
        [None, None, 0.3, 0.45, None, 0.4, 0.45, 0.9, 0.9, 0.9]


def test_class_swap_every_third_visible_frame_of_limit_tracks():
    table, truth, ids = _setup(9)
    # The track's true class is model class 1; every third frame is read as the limit after it (3), even
    # where the model had read another class (0) there.
    labels = [1, 1, 0, 1, 1, 1, 1, 1, 1]
    dets = [Detections(image_id=i, boxes=np.array([BOX], np.float32), scores=np.array([0.9], np.float32),
                       labels=np.array([label])) for i, label in zip(ids, labels, strict=True)]
    out = class_swap_every_third(dets, table, truth, {2: 1}, [0, 1, 3])
    assert [int(d.labels[0]) for d in out] == [1, 1, 3, 1, 1, 3, 1, 1, 3]
    untouched = class_swap_every_third(dets, table, truth, {2: 7}, [0, 1, 3])  # not a speed-limit track
    assert [int(d.labels[0]) for d in untouched] == labels
