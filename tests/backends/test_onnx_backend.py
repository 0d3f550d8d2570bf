"""The onnx backend and its export: checked ONNX, recorded provenance, detection parity with torch, bad inputs."""

from __future__ import annotations

import os

import numpy as np
import pytest

from gate.backends import create_backend
from gate.backends.consistency import compare_detections
from gate.backends.exporter import ensure_export
from gate.backends.exports import load_export_record
from gate.backends.predict import predict_dataset
from gate.data.dataset import DetectionDataset
from gate.errors import InputError, RefusedError
from gate.storage import sha256_file
from tests.backends.exported import onnx_export, use_private_cache
from tests.backends.onnx_files import constant_detector_onnx, ingested_onnx_model


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch, tmp_path_factory):
    use_private_cache(monkeypatch, tmp_path_factory)


def test_export_is_checked_and_recorded(tmp_path_factory, trained_model_dir):
    import onnx

    record = onnx_export(tmp_path_factory)
    onnx.checker.check_model(str(record.path), full_check=True)
    assert record.format == "onnx" and record.opset == 17
    assert "dynamo=False" in record.exporter
    assert record.sha256 == sha256_file(record.path)
    assert record.libraries["torch"] and record.libraries["onnx"]
    assert [i.shape for i in record.inputs] == [[1, 3, 128, 160]]
    assert [o.name for o in record.outputs] == ["logits", "pred_boxes"]
    assert record.outputs[0].shape == [1, 100, 3]
    # Export-time parity on the seeded trace input: legacy exporter matches torch to ~1e-6.
    assert max(record.parity.values()) < 1e-4
    # The record on disk loads back equal.
    assert load_export_record(record.path.parent) == record


def test_export_is_reused_from_the_cache_and_rebuilt_when_tampered(tmp_path_factory, trained_model_dir):
    record = onnx_export(tmp_path_factory)
    stamp = os.stat(record.path).st_mtime_ns
    again = ensure_export(trained_model_dir, "onnx")
    assert again == record and os.stat(again.path).st_mtime_ns == stamp
    # A cache entry whose file no longer matches its record is rebuilt, not trusted.
    tampered = ensure_export(trained_model_dir, "onnx", {"opset": 17, "batch": 2})
    tampered.path.write_bytes(b"not an onnx file")
    rebuilt = ensure_export(trained_model_dir, "onnx", {"opset": 17, "batch": 2})
    assert rebuilt.sha256 == sha256_file(rebuilt.path) and rebuilt.inputs[0].shape[0] == 2


def test_export_is_byte_identical_when_repeated(tmp_path_factory, trained_model_dir, tmp_path):
    cached = onnx_export(tmp_path_factory)
    again = ensure_export(trained_model_dir, "onnx", out=tmp_path / "again")
    assert again.sha256 == cached.sha256 and again.settings_key == cached.settings_key


def test_export_to_an_occupied_out_folder_is_refused(trained_model_dir, tmp_path):
    out = tmp_path / "export"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(RefusedError, match="--force"):
        ensure_export(trained_model_dir, "onnx", out=out)
    assert (out / "precious.txt").read_text() == "keep me"


def test_onnx_detections_match_torch(tmp_path_factory, trained_model_dir, shapes_data):
    onnx_export(tmp_path_factory)
    dataset = DetectionDataset.load(shapes_data)
    ids = [1, 2, 3, 4, 5]
    with create_backend("torch", trained_model_dir, threads=1) as torch_backend:
        reference = predict_dataset(torch_backend, dataset, ids, batch_size=2)
    with create_backend("onnx", trained_model_dir, threads=1) as onnx_backend:
        candidate = predict_dataset(onnx_backend, dataset, ids, batch_size=2)
        description = onnx_backend.describe()
    assert description.details["providers"] == ["CPUExecutionProvider"]
    assert description.details["opset"] == 17 and description.threads == 1
    score_diff = box_diff = 0.0
    for ref, got in zip(reference, candidate, strict=True):
        assert ref.labels[:20].tolist() == got.labels[:20].tolist()
        score_diff = max(score_diff, float(np.abs(ref.scores[:20] - got.scores[:20]).max()))
        box_diff = max(box_diff, float(np.abs(ref.boxes[:20] - got.boxes[:20]).max()))
    assert score_diff < 1e-4 and box_diff < 1e-2
    consistency = compare_detections(reference, candidate, backend="onnx", score_threshold=0.05)
    assert consistency.reference_detections > 0
    assert consistency.disagreement_rate == 0.0 and consistency.score_drift_max < 1e-4


def test_fixed_batch_graph_runs_any_number_of_rows(tmp_path_factory, trained_model_dir, shapes_data):
    """A batch-2 graph fed 3 images pads the last chunk and drops the padding's outputs."""
    dataset = DetectionDataset.load(shapes_data)
    with create_backend("onnx", trained_model_dir, threads=1, export_settings={"batch": 2}) as batched, \
            create_backend("onnx", trained_model_dir, threads=1) as single:
        three = predict_dataset(batched, dataset, [1, 2, 3], batch_size=3)
        one_by_one = predict_dataset(single, dataset, [1, 2, 3], batch_size=1)
    for a, b in zip(three, one_by_one, strict=True):
        assert a.labels[:10].tolist() == b.labels[:10].tolist()
        np.testing.assert_allclose(a.scores[:10], b.scores[:10], atol=1e-5)


def test_onnx_whose_classes_do_not_match_the_card_is_one_input_error(trained_model_dir, tmp_path):
    onnx_file = constant_detector_onnx(tmp_path / "five.onnx", (128, 160), classes=5)
    model = ingested_onnx_model(trained_model_dir, onnx_file, tmp_path / "model")
    with pytest.raises(InputError, match=r"expected logits \(N, Q, 3\).*got logits \(1, 10, 5\)") as info:
        create_backend("onnx", model).load()
    assert "\n" not in str(info.value)


def test_onnx_whose_input_size_does_not_match_the_card_is_one_input_error(trained_model_dir, tmp_path):
    onnx_file = constant_detector_onnx(tmp_path / "small.onnx", (64, 64), classes=3)
    model = ingested_onnx_model(trained_model_dir, onnx_file, tmp_path / "model")
    with pytest.raises(InputError, match=r"expected image input \(N, 3, 128, 160\)"):
        create_backend("onnx", model).load()


def test_explicit_onnx_path_is_checked_against_the_card(trained_model_dir, tmp_path):
    onnx_file = constant_detector_onnx(tmp_path / "five.onnx", (128, 160), classes=5)
    with pytest.raises(InputError, match="logits") as info:
        create_backend("onnx", trained_model_dir, onnx_path=onnx_file).load()
    assert info.value.path == str(onnx_file)


def test_model_that_emits_nan_is_one_input_error(trained_model_dir, shapes_data, tmp_path):
    onnx_file = constant_detector_onnx(tmp_path / "nan.onnx", (128, 160), classes=3, logit_value=float("nan"))
    model = ingested_onnx_model(trained_model_dir, onnx_file, tmp_path / "model")
    image = next(DetectionDataset.load(shapes_data).iter_images([1])).pixels
    with create_backend("onnx", model) as backend, pytest.raises(InputError, match="emitted NaN or inf in its logits"):
        backend.infer([image], [1])


def test_ingested_onnx_model_runs_its_own_file(trained_model_dir, shapes_data, tmp_path):
    onnx_file = constant_detector_onnx(tmp_path / "ok.onnx", (128, 160), classes=3, logit_value=1.0)
    model = ingested_onnx_model(trained_model_dir, onnx_file, tmp_path / "model")
    image = next(DetectionDataset.load(shapes_data).iter_images([1])).pixels
    with create_backend("onnx", model) as backend:
        detections = backend.infer([image], [1])[0]
        assert backend.describe().details["onnx_file"] == str(model / "model.onnx")
    # sigmoid(1.0) for every (query, class): 10 queries kept, centred 0.2-wide boxes in source pixels.
    assert len(detections) == 10
    np.testing.assert_allclose(detections.scores, 1 / (1 + np.exp(-1.0)), rtol=1e-6)
    np.testing.assert_allclose(detections.boxes[0], [64, 51.2, 96, 76.8], atol=1e-3)


def test_unknown_export_format_and_bad_settings_are_input_errors(trained_model_dir):
    with pytest.raises(InputError, match="unknown export format 'tflite'"):
        ensure_export(trained_model_dir, "tflite")
    with pytest.raises(InputError, match="opset"):
        ensure_export(trained_model_dir, "onnx", {"opset": 5})
