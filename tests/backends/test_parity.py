"""Preprocessing-parity probe, and planted preprocessing mismatches caught by the probe AND by consistency."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from gate.backends import create_backend
from gate.backends.consistency import compare_detections
from gate.backends.onnx_backend import OnnxBackend
from gate.backends.parity import PreprocessingParity, check_preprocessing_parity, probe_images
from gate.data.dataset import DetectionDataset
from gate.errors import InputError
from gate.cards.card import load_card
from tests.backends.exported import use_private_cache

# The 100-step fixture model's best scores sit near 0.1-0.3, below the card's 0.5 operating point;
# the consistency checks here use 0.1 so that there are detections to disagree about.
TEST_OPERATING_POINT = 0.1


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch, tmp_path_factory):
    use_private_cache(monkeypatch, tmp_path_factory)


def _wide(images):
    """The probe images stretched to 160x320: a source aspect ratio unlike the model's input."""
    return [(i, np.asarray(Image.fromarray(p).resize((320, 160), Image.Resampling.BILINEAR))) for i, p in images]


class _SwappedChannelsOnnx(OnnxBackend):
    """An ONNX path whose own preprocessing code swaps channels while its settings say RGB."""

    def prepare(self, images, image_ids):
        return super().prepare([np.ascontiguousarray(p[..., ::-1]) for p in images], image_ids)


def _planted(kind: str, model_dir):
    card = load_card(model_dir)
    if kind == "bgr":
        return create_backend("onnx", model_dir, threads=1,
                              preprocessing=card.preprocessing.model_copy(update={"channel_order": "bgr"}))
    if kind == "letterbox":
        return create_backend("onnx", model_dir, threads=1,
                              preprocessing=card.preprocessing.model_copy(update={"resize": "letterbox"}))
    return _SwappedChannelsOnnx(model_dir, threads=1)


@pytest.mark.parametrize(
    ("kind", "named_setting", "wide"),
    [
        ("bgr", "channel_order", False),  # deployment feeds BGR to an RGB-trained model
        ("letterbox", "resize", True),  # deployment letterboxes, training stretched
        ("code", None, False),  # settings identical, the backend's own code differs
    ],
)
def test_planted_preprocessing_mismatch_is_caught_by_probe_and_consistency(
        kind, named_setting, wide, trained_model_dir, shapes_data):
    dataset = DetectionDataset.load(shapes_data)
    images = probe_images(dataset, 6)
    images = _wide(images) if wide else images
    reference = create_backend("torch", trained_model_dir, threads=1)
    planted = _planted(kind, trained_model_dir)

    parity = check_preprocessing_parity([reference, planted], images)
    entry = parity.entry("onnx")
    assert not parity.all_match and not entry.matches_reference
    assert entry.max_abs_diff > 0.01
    if named_setting is None:
        assert entry.differing_settings == [] and "preprocessing code differs" in entry.note
    else:
        assert [d.setting for d in entry.differing_settings] == [named_setting]
        assert named_setting in entry.note

    ids, pixels = [i for i, _ in images], [p for _, p in images]
    with reference, planted:
        expected = reference.infer(pixels, ids)
        got = planted.infer(pixels, ids)
    consistency = compare_detections(expected, got, backend="onnx", score_threshold=TEST_OPERATING_POINT)
    assert consistency.reference_detections > 10
    assert consistency.disagreement_rate > 0.2
    assert consistency.images_with_disagreement >= 3


def test_faithful_backends_match_by_hash(trained_model_dir, shapes_data):
    images = _wide(probe_images(DetectionDataset.load(shapes_data), 3))
    backends = [create_backend(name, trained_model_dir, threads=1) for name in ("torch", "onnx", "int8")]
    parity = check_preprocessing_parity(backends, images)
    assert parity.all_match
    assert len({e.tensor_sha256 for e in parity.entries}) == 1
    assert all(e.max_abs_diff == 0.0 and e.note == "" for e in parity.entries)
    assert parity.probe_image_ids == [1, 2, 3]
    assert PreprocessingParity.model_validate_json(parity.model_dump_json()) == parity


def test_probe_hash_changes_with_the_probe_images(trained_model_dir, shapes_data):
    dataset = DetectionDataset.load(shapes_data)
    backend = create_backend("torch", trained_model_dir)
    first = check_preprocessing_parity([backend], probe_images(dataset, 2))
    other = check_preprocessing_parity([backend], [(9, next(dataset.iter_images([9])).pixels)])
    assert first.probe_pixels_sha256 != other.probe_pixels_sha256
    assert first.entries[0].tensor_sha256 != other.entries[0].tensor_sha256


def test_parity_needs_the_reference_and_unique_names(trained_model_dir, shapes_data):
    images = probe_images(DetectionDataset.load(shapes_data), 1)
    onnx = create_backend("onnx", trained_model_dir)
    with pytest.raises(InputError, match="reference backend 'torch' is not among"):
        check_preprocessing_parity([onnx], images)
    with pytest.raises(InputError, match="unique"):
        check_preprocessing_parity([create_backend("torch", trained_model_dir), onnx, onnx], images)
    with pytest.raises(InputError, match="at least one probe image"):
        check_preprocessing_parity([onnx], [], reference="onnx")
