"""Detections with class-score vectors are the backend's own detections, and each vector is its query's."""

from __future__ import annotations

import numpy as np
import pytest

from gate.backends import create_backend
from gate.data.dataset import DetectionDataset
from gate.mining.inference import infer_with_class_scores


def _images(shapes_pool, count=4):
    dataset = DetectionDataset.load(shapes_pool)
    loaded = list(dataset.iter_images([img.id for img in dataset.images[:count]]))
    return [x.pixels for x in loaded], [x.info.id for x in loaded]


@pytest.mark.parametrize("tiles", [False, True], ids=["whole-image", "tiled"])
def test_same_detections_as_infer_and_vectors_hold_the_detection_score(fixture_model, shapes_pool, tiles):
    options = {}
    if tiles:
        from gate.cards.card import load_card

        card = load_card(fixture_model, verify_weights=False)
        options["preprocessing"] = card.preprocessing.model_copy(
            update={"resize": "tiles", "input_size": (64, 96), "tile_overlap": 16})
    backend = create_backend("torch", fixture_model, **options).load()
    pixels, ids = _images(shapes_pool)
    plain = backend.infer(pixels, ids)
    scored = infer_with_class_scores(backend, pixels, ids)
    assert len(scored) == len(plain)
    total = 0
    for expected, got in zip(plain, scored, strict=True):
        assert got.detections.equals(expected)
        n = len(expected)
        total += n
        assert got.class_scores.shape == (n, len(backend.card.class_names))
        picked = got.class_scores[np.arange(n), expected.labels]
        np.testing.assert_allclose(picked, expected.scores, atol=1e-6)
        assert ((got.class_scores >= 0) & (got.class_scores <= 1)).all()
    assert total > 0
