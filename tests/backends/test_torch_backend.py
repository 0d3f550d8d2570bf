"""The torch backend and the backend registry, on a briefly trained tiny detector."""

from __future__ import annotations

import numpy as np
import pytest

from gate.backends import backend_names, create_backend
from gate.backends.predict import predict_dataset
from gate.data.dataset import DetectionDataset
from gate.errors import InputError


def test_registry_knows_torch_and_refuses_unknown_names():
    assert "torch" in backend_names()
    with pytest.raises(InputError, match="unknown backend 'tensorflow'"):
        create_backend("tensorflow", ".")


def test_infer_returns_detections_in_source_pixels(trained_model_dir, shapes_data):
    dataset = DetectionDataset.load(shapes_data)
    with create_backend("torch", trained_model_dir, threads=1) as backend:
        detections = predict_dataset(backend, dataset, [1, 2, 3], batch_size=2)
    assert [d.image_id for d in detections] == [1, 2, 3]
    for det in detections:
        assert 0 < len(det) <= backend.card.postprocessing.top_k
        assert det.boxes[:, 2].max() <= 160 and det.boxes[:, 3].max() <= 128
        assert det.labels.max() < 3
        assert np.all(np.diff(det.scores) <= 0)
    # The trained model is not constant: different images give different top scores.
    assert len({float(d.scores[0]) for d in detections}) == 3


def test_batching_does_not_change_detections(trained_model_dir, shapes_data):
    dataset = DetectionDataset.load(shapes_data)
    with create_backend("torch", trained_model_dir, threads=1) as backend:
        together = predict_dataset(backend, dataset, [1, 2, 3, 4], batch_size=4)
        alone = predict_dataset(backend, dataset, [1, 2, 3, 4], batch_size=1)
    for a, b in zip(together, alone, strict=True):
        # The best detections agree; far down the list near-equal scores may swap places.
        assert a.labels.tolist()[:10] == b.labels.tolist()[:10]
        np.testing.assert_allclose(a.scores[:10], b.scores[:10], atol=1e-5)
        np.testing.assert_allclose(a.boxes[:10], b.boxes[:10], atol=1e-3)


def test_describe_records_runtime_facts(trained_model_dir):
    backend = create_backend("torch", trained_model_dir, threads=1).load()
    description = backend.describe()
    assert description.name == "torch" and description.precision == "fp32"
    assert description.threads == 1
    assert {"torch", "transformers"} <= set(description.libraries)
    assert description.model_sha256 == backend.card.weights.sha256


def test_prepared_batch_is_what_the_runtime_sees(trained_model_dir, shapes_data):
    dataset = DetectionDataset.load(shapes_data)
    image = next(dataset.iter_images([1])).pixels
    backend = create_backend("torch", trained_model_dir, threads=1)
    batch = backend.prepare([image], [1])
    assert batch.pixel_values.shape == (1, 3, 128, 160)
    first = backend.infer([image], [1])[0]
    again = backend.infer([image], [1])[0]
    assert first.equals(again)  # deterministic on one machine
