"""The one postprocessing implementation, checked against transformers' post_process_object_detection."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from gate.backends.postprocess import RawOutputs, nms_per_class, postprocess
from gate.backends.preprocess import PreparedBatch, plan_inputs
from gate.cards.card import PostprocessingSpec, PreprocessingSpec


def _raw(batch: int, queries: int, classes: int, seed: int = 0) -> RawOutputs:
    rng = np.random.default_rng(seed)
    logits = rng.normal(-2.0, 2.0, size=(batch, queries, classes)).astype(np.float32)
    centres = rng.uniform(0.1, 0.9, size=(batch, queries, 2))
    sizes = rng.uniform(0.02, 0.3, size=(batch, queries, 2))
    return RawOutputs(logits, np.concatenate([centres, sizes], axis=-1).astype(np.float32))


def _stretch_batch(sizes: list[tuple[int, int]], input_size=(320, 320)) -> PreparedBatch:
    spec = PreprocessingSpec(input_size=input_size)
    geometry = [plan_inputs(i, size, spec)[0] for i, size in enumerate(sizes)]
    return PreparedBatch(np.zeros((len(sizes), 3, *input_size), np.float32), geometry, list(range(len(sizes))), sizes)


def _reference(raw: RawOutputs, sizes, threshold):
    import torch
    from transformers.models.rt_detr.image_processing_pil_rt_detr import RTDetrImageProcessorPil

    outputs = SimpleNamespace(logits=torch.from_numpy(raw.logits), pred_boxes=torch.from_numpy(raw.pred_boxes))
    return RTDetrImageProcessorPil().post_process_object_detection(outputs, threshold=threshold, target_sizes=sizes)


@pytest.mark.parametrize(
    ("queries", "classes", "threshold"),
    [
        (100, 4, 0.3),  # GTSDB supercategories
        (100, 27, 0.5),  # the synthetic world's classes
        (30, 3, 0.001),  # keep almost everything (the AP setting)
    ],
)
def test_matches_post_process_object_detection(queries, classes, threshold):
    sizes = [(480, 816), (320, 512)]
    raw = _raw(2, queries, classes, seed=queries + classes)
    spec = PostprocessingSpec(score_threshold=threshold, top_k=queries, clip_boxes=False)
    ours = postprocess(raw, _stretch_batch(sizes), spec)
    theirs = _reference(raw, sizes, threshold)
    for mine, ref in zip(ours, theirs, strict=True):
        assert len(mine) == len(ref["scores"]) > 0
        np.testing.assert_array_equal(mine.labels, ref["labels"].numpy())
        np.testing.assert_allclose(mine.scores, ref["scores"].numpy(), rtol=0, atol=1e-6)
        np.testing.assert_allclose(mine.boxes, ref["boxes"].numpy(), rtol=1e-6, atol=1e-4)


def test_clipping_only_moves_coordinates_outside_the_image():
    sizes = [(480, 816)]
    raw = _raw(1, 50, 4, seed=9)
    loose = postprocess(raw, _stretch_batch(sizes), PostprocessingSpec(score_threshold=0.01, clip_boxes=False))[0]
    clipped = postprocess(raw, _stretch_batch(sizes), PostprocessingSpec(score_threshold=0.01))[0]
    np.testing.assert_array_equal(np.clip(loose.boxes, 0, [816, 480, 816, 480]), clipped.boxes)


def test_top_k_caps_detections_per_image():
    raw = _raw(1, 100, 4, seed=1)
    result = postprocess(raw, _stretch_batch([(100, 100)]), PostprocessingSpec(score_threshold=0.0, top_k=7))[0]
    assert len(result) == 7
    assert np.all(np.diff(result.scores) <= 0)


def test_tiles_are_merged_with_per_class_nms():
    # One sign seen by two overlapping tiles: both tiles report it, the merge keeps one box.
    spec = PreprocessingSpec(input_size=(100, 100), resize="tiles", tile_overlap=40)
    geometry = plan_inputs(0, (100, 160), spec)
    assert [g.box_offset for g in geometry] == [(0.0, 0.0), (60.0, 0.0)]
    logits = np.full((2, 3, 2), -10.0, np.float32)
    boxes = np.full((2, 3, 4), 0.5, np.float32)
    logits[0, 0, 1], boxes[0, 0] = 3.0, [0.80, 0.5, 0.2, 0.2]  # sign at x 70-90 in tile 0
    logits[1, 0, 1], boxes[1, 0] = 2.0, [0.205, 0.5, 0.2, 0.2]  # the same sign, x 70.5-90.5 via tile 1
    logits[1, 1, 0], boxes[1, 1] = 2.5, [0.205, 0.5, 0.2, 0.2]  # same place, other class: kept
    batch = PreparedBatch(np.zeros((2, 3, 100, 100), np.float32), geometry, [42], [(100, 160)])
    result = postprocess(RawOutputs(logits, boxes), batch, PostprocessingSpec(score_threshold=0.5))[0]
    assert result.image_id == 42
    assert result.labels.tolist() == [1, 0]
    np.testing.assert_allclose(result.boxes[0], [70, 40, 90, 60], atol=1e-4)


@pytest.mark.parametrize(
    ("boxes", "labels", "iou", "kept"),
    [
        ([[0, 0, 10, 10], [1, 1, 11, 11]], [0, 0], 0.5, [0]),  # IoU 0.68: suppressed
        ([[0, 0, 10, 10], [1, 1, 11, 11]], [0, 1], 0.5, [0, 1]),  # different classes: both kept
        ([[0, 0, 10, 10], [5, 5, 15, 15]], [0, 0], 0.5, [0, 1]),  # IoU 0.14: both kept
        ([[0, 0, 10, 10], [1, 1, 11, 11]], [0, 0], 0.7, [0, 1]),  # threshold above the IoU
    ],
)
def test_nms_per_class(boxes, labels, iou, kept):
    scores = np.asarray([0.9, 0.8], np.float32)
    result = nms_per_class(np.asarray(boxes, np.float32), scores, np.asarray(labels), iou)
    assert result.tolist() == kept


def test_nan_outputs_are_refused():
    logits = np.zeros((1, 2, 3), np.float32)
    logits[0, 1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        RawOutputs(logits, np.zeros((1, 2, 4), np.float32))


def test_output_rows_must_match_inputs():
    with pytest.raises(ValueError, match="expected 2 rows, got 1"):
        postprocess(_raw(1, 10, 2), _stretch_batch([(50, 50), (60, 60)]), PostprocessingSpec())
