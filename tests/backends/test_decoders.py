"""Decoders of every outputs layout: box geometry (letterbox, tiles, normalised), class-wise NMS, EfficientNMS counts."""

from __future__ import annotations

import numpy as np
import pytest

from gate.backends.decoders import NamedOutputs, check_outputs, decode_outputs, softmax
from gate.backends.postprocess import RawOutputs
from gate.backends.preprocess import preprocess
from gate.cards.card import PostprocessingSpec, PreprocessingSpec
from gate.cards.outputs import (
    BoxesScoresLabelsOutputs,
    DetrOutputs,
    EfficientNmsOutputs,
    YoloEndToEndOutputs,
    YoloRawOutputs,
    match_shapes,
)

POST = PostprocessingSpec(score_threshold=0.05, nms_iou=0.5, top_k=10, clip_boxes=False)


def _batch(source_hw, **pre):
    spec = PreprocessingSpec(**{"input_size": (64, 64), **pre})
    image = np.zeros((*source_hw, 3), np.uint8)
    return preprocess([image], [7], spec)


def _raw_head(anchors):
    """(1, 4 + 2, N) from rows of (cx, cy, w, h, score0, score1) in input pixels."""
    return np.asarray(anchors, np.float32).T[None]


def test_yolo_raw_class_wise_nms_and_letterbox_back_to_source():
    # Source 32x64 (h, w) letterboxed centred into 64x64: scale 1, 16 px of padding on top.
    batch = _batch((32, 64), resize="letterbox", letterbox_align="center", pad_value=114)
    head = _raw_head([
        (15, 31, 10, 10, 0.9, 0.0),   # kept: source box (10, 10, 20, 20)
        (16, 31, 10, 10, 0.8, 0.0),   # same class, IoU 0.82 > 0.5: suppressed
        (16, 31, 10, 10, 0.0, 0.7),   # other class: kept
        (50, 40, 4, 4, 0.01, 0.02),   # below the score threshold
    ])
    [dets] = decode_outputs(NamedOutputs({"output0": head}), batch, POST, YoloRawOutputs())
    assert dets.image_id == 7 and dets.labels.tolist() == [0, 1]
    np.testing.assert_allclose(dets.scores, [0.9, 0.7], rtol=1e-6)
    np.testing.assert_allclose(dets.boxes[0], [10, 10, 20, 20], atol=1e-4)


def test_yolo_raw_multi_label_keeps_every_class_above_threshold():
    batch = _batch((64, 64), resize="letterbox")
    head = _raw_head([(20, 20, 8, 8, 0.6, 0.4)])
    [single] = decode_outputs(NamedOutputs({"output0": head}), batch, POST, YoloRawOutputs())
    [multi] = decode_outputs(NamedOutputs({"output0": head}), batch, POST, YoloRawOutputs(multi_label=True))
    assert single.labels.tolist() == [0] and multi.labels.tolist() == [0, 1]


def test_yolo_end_to_end_on_tiles_maps_each_tile_to_its_window():
    # 64x128 source, 64x64 tiles, no overlap: two tiles at x0 = 0 and x0 = 64.
    batch = _batch((64, 128), resize="tiles")
    assert [g.window[0] for g in batch.geometry] == [0, 64]
    rows = np.zeros((2, 3, 6), np.float32)
    rows[0, 0] = (1, 2, 11, 12, 0.9, 1)
    rows[1, 0] = (1, 2, 11, 12, 0.8, 0)
    [dets] = decode_outputs(NamedOutputs({"output0": rows}), batch, POST, YoloEndToEndOutputs())
    np.testing.assert_allclose(dets.boxes, [[1, 2, 11, 12], [65, 2, 75, 12]], atol=1e-4)
    assert dets.labels.tolist() == [1, 0]


def test_boxes_scores_labels_normalised_on_a_stretched_input():
    batch = _batch((32, 128), resize="stretch")
    layout = BoxesScoresLabelsOutputs(box_units="normalized")
    arrays = {"boxes": np.asarray([[[0.25, 0.5, 0.5, 1.0]]], np.float32), "scores": np.asarray([[0.5]], np.float32),
              "labels": np.asarray([[2]], np.int64)}
    [dets] = decode_outputs(NamedOutputs(arrays), batch, POST, layout)
    np.testing.assert_allclose(dets.boxes, [[32, 16, 64, 32]], atol=1e-4)
    assert dets.labels.tolist() == [2]


def test_efficient_nms_reads_only_num_dets_rows():
    batch = _batch((64, 64))
    arrays = {"num_dets": np.asarray([[1]], np.int32),
              "det_boxes": np.asarray([[[0, 0, 8, 8], [1, 1, 9, 9]]], np.float32),
              "det_scores": np.asarray([[0.9, 0.8]], np.float32), "det_classes": np.asarray([[0, 1]], np.int32)}
    [dets] = decode_outputs(NamedOutputs(arrays), batch, POST, EfficientNmsOutputs())
    assert len(dets) == 1 and dets.labels.tolist() == [0]
    # The padding past num_dets may hold anything; it is neither decoded nor checked.
    arrays["det_boxes"][0, 1] = (9, 9, 1, 1)
    assert check_outputs(arrays, EfficientNmsOutputs(), 2) is None


def test_detr_softmax_drops_the_no_object_class():
    batch = _batch((64, 64))
    logits = np.asarray([[[4.0, 0.0, 4.5], [0.0, 5.0, 1.0]]], np.float32)  # 2 classes + no-object
    boxes = np.asarray([[[0.5, 0.5, 0.5, 0.5], [0.25, 0.25, 0.1, 0.1]]], np.float32)
    [dets] = decode_outputs(RawOutputs(logits, boxes), batch, POST, DetrOutputs(score_activation="softmax"))
    probabilities = softmax(logits[0])
    assert dets.labels.tolist() == [1, 0]
    np.testing.assert_allclose(dets.scores, [probabilities[1, 1], probabilities[0, 0]], rtol=1e-6)
    np.testing.assert_allclose(dets.boxes[1], [16, 16, 48, 48], atol=1e-4)


@pytest.mark.parametrize(("arrays", "layout", "message"), [
    ({"output0": np.full((1, 6, 2), np.nan, np.float32)}, YoloRawOutputs(), "NaN or inf in its output0"),
    ({"output0": np.asarray([[[1, 1, 0, 5, 0.9, 0]]], np.float32)}, YoloEndToEndOutputs(), "negative width"),
    ({"output0": np.asarray([[[1, 1, 5, 5, 0.9, 4]]], np.float32)}, YoloEndToEndOutputs(), "class 4 in its output0"),
])
def test_values_no_detector_can_mean_are_named(arrays, layout, message):
    assert message in check_outputs(arrays, layout, 3)


def test_shape_symbols_must_agree_across_outputs():
    expected = BoxesScoresLabelsOutputs().expected_shapes(3)
    assert match_shapes(expected, {"boxes": [1, 10, 4], "scores": [1, 10], "labels": [1, 10]}) is None
    problem = match_shapes(expected, {"boxes": [1, 10, 4], "scores": [1, 12], "labels": [1, 10]})
    assert "output 'scores': expected shape (B, N) with N=10" in problem
