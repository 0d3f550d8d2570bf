"""Planted regressions on real per-frame detections: what a sequence gate must catch and frame AP barely sees.

Both take one model's detections on a sequence suite and change them the way a worse model would:

- `late_recognition`: each sign track loses its detections in the first `fraction` of the frames where
  it is visible, or where the model detects it (while it is small and far), so the same signs are
  found, only later; deleted, or demoted below the operating threshold;
- `class_swap_every_third`: on speed-limit tracks, the detection in every third visible frame is read
  as the next speed limit, so boxes (and class-agnostic recall) stay and readings flicker.

Detections are associated with a track by IoU (>= `iou`, any class), as the sequence metrics do.
Used by the tests that prove the sequence gate and by bench scripts; never by the gate itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from gate.backends.detections import Detections
from gate.eval.sequence import FrameTruth, box_iou
from gate.data.sequence import SequenceTable


def _track_frames(table: SequenceTable, truth: Mapping[int, FrameTruth]) -> dict[tuple[str, int], list[tuple[int, np.ndarray]]]:
    """Per (drive, track): the (image id, xyxy box) of every frame where it is annotated, in frame order."""
    out: dict[tuple[str, int], list[tuple[int, np.ndarray]]] = {}
    for drive in table.drives:
        for image_id in drive.image_ids:
            frame = truth[image_id]
            for k, track in enumerate(frame.track_ids):
                out.setdefault((drive.id, int(track)), []).append((image_id, frame.boxes[k]))
    return out


def _edit(detections: Sequence[Detections], edits: dict[int, list[tuple[np.ndarray, Callable]]], iou: float):
    """Apply, per image, each (truth box, action) to the detections overlapping that box at >= iou; an
    action gets (hits, keep, labels, score scale) and edits the last three in place."""
    out = []
    for det in detections:
        keep = np.ones(len(det.scores), bool)
        labels = det.labels.copy()
        scale = np.ones(len(det.scores), np.float32)
        for box, action in edits.get(det.image_id, []):
            if len(det.scores) == 0:
                continue
            hits = box_iou(box[None, :].astype(np.float64), det.boxes.astype(np.float64))[0] >= iou
            action(hits, keep, labels, scale)
        scores = (det.scores * scale).astype(np.float32)
        order = np.argsort(-scores[keep], kind="stable")  # postprocessing's order: descending score
        out.append(Detections(image_id=det.image_id, boxes=det.boxes[keep][order], scores=scores[keep][order],
                              labels=labels[keep][order]))
    return out


def late_recognition(detections: Sequence[Detections], table: SequenceTable, truth: Mapping[int, FrameTruth],
                     fraction: float = 0.4, iou: float = 0.5, *, basis: str = "visible",
                     threshold: float | None = None, demote: float | None = None) -> list[Detections]:
    """Take away each track's detections in the first `fraction` (rounded up) of its frames.

    `basis="visible"`: of the frames where the sign is annotated; `basis="detected"`: of the frames where
    the model detects it at the operating `threshold` (a model that sees signs only late loses what it
    had: for a detector that already misses most far frames, the first visible frames hold little).
    `demote=None` deletes those detections; a factor (e.g. 0.5) multiplies their scores instead, so at
    the operating threshold they are gone but they stay, lower, in the ranked list frame AP integrates.
    """
    if basis not in ("visible", "detected"):
        raise ValueError(f"basis must be 'visible' or 'detected', got {basis!r}")
    if basis == "detected" and threshold is None:
        raise ValueError("basis 'detected' needs the operating threshold")
    by_image = {d.image_id: d for d in detections}
    edits: dict[int, list] = {}

    def take(hits, keep, labels, scale):
        if demote is None:
            keep &= ~hits
        else:
            scale[hits] *= demote

    for frames in _track_frames(table, truth).values():
        if basis == "detected":
            frames = [(image_id, box) for image_id, box in frames if _detected(by_image.get(image_id), box, threshold, iou)]
        for image_id, box in frames[:math.ceil(fraction * len(frames))]:
            edits.setdefault(image_id, []).append((box, take))
    return _edit(detections, edits, iou)


def _detected(det: Detections | None, box: np.ndarray, threshold: float, iou: float) -> bool:
    if det is None or len(det.scores) == 0:
        return False
    over = det.scores >= threshold
    return bool((box_iou(box[None, :].astype(np.float64), det.boxes.astype(np.float64))[0][over] >= iou).any())


def class_swap_every_third(detections: Sequence[Detections], table: SequenceTable, truth: Mapping[int, FrameTruth],
                           model_class_of: Mapping[int, int], model_limit_classes: Sequence[int],
                           iou: float = 0.5) -> list[Detections]:
    """On speed-limit tracks, the detections of every third visible frame (the 3rd, 6th, ...) are read as
    the speed limit that follows the sign's *true* one in `model_limit_classes` (so the swapped reading is
    always wrong, even where the model had misread the sign already).

    `model_class_of` maps a track's evaluation category to the model's class index; tracks whose class
    is not in `model_limit_classes` are left alone."""
    following = {c: model_limit_classes[(k + 1) % len(model_limit_classes)] for k, c in enumerate(model_limit_classes)}
    category = {(d.id, t.track_id): t.category_id for d in table.drives for t in d.tracks}
    edits: dict[int, list] = {}

    for key, frames in _track_frames(table, truth).items():
        true_class = model_class_of.get(category[key])
        if true_class not in following:
            continue
        wrong = following[true_class]

        def swap(hits, keep, labels, scale, wrong=wrong):
            labels[hits] = wrong

        for n, (image_id, box) in enumerate(frames):
            if n % 3 == 2:
                edits.setdefault(image_id, []).append((box, swap))
    return _edit(detections, edits, iou)
