"""The int8 backend and its Model Optimizer export: Q/DQ nodes, recorded calibration, bad inputs."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from gate.backends import create_backend
from gate.backends.exporter import ensure_export
from gate.backends.exports import Int8ExportSettings
from gate.backends.int8_export import calibration_source, calibration_tensor
from gate.backends.predict import predict_dataset
from gate.data.dataset import DetectionDataset
from gate.errors import InputError
from gate.cards.card import load_card
from gate.storage import sha256_bytes, sha256_file
from tests.backends.exported import INT8_TEST_SETTINGS, int8_export, onnx_export, use_private_cache


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch, tmp_path_factory):
    use_private_cache(monkeypatch, tmp_path_factory)


def test_int8_export_is_explicit_qdq_with_recorded_calibration(tmp_path_factory, trained_model_dir, shapes_data):
    record = int8_export(tmp_path_factory)
    model = onnx.load(str(record.path))
    ops = [node.op_type for node in model.graph.node]
    assert ops.count("QuantizeLinear") > 50 and ops.count("DequantizeLinear") > 50
    assert record.qdq_nodes == {"QuantizeLinear": ops.count("QuantizeLinear"),
                                "DequantizeLinear": ops.count("DequantizeLinear")}
    # Quantized weights are int8 initializers feeding DequantizeLinear.
    int8_weights = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert int8_weights
    assert record.source_onnx_sha256 == onnx_export(tmp_path_factory).sha256
    assert record.settings["high_precision_dtype"] == "fp32"
    # By default only convolutions are quantized (with the residual adds and pools Model Optimizer pairs
    # with them for TensorRT fusion): attention, heads and query selection stay fp32.
    dq_outputs = {node.output[0] for node in model.graph.node if node.op_type == "DequantizeLinear"}
    consumers = {node.op_type for node in model.graph.node if dq_outputs.intersection(node.input)}
    assert "Conv" in consumers and consumers <= {"Conv", "Add", "AveragePool"}
    assert record.settings["quantize_op_types"] == ["Conv"]
    assert "nvidia-modelopt" in record.libraries
    cal = record.calibration
    assert cal is not None and cal.method == "max" and cal.seed == 0
    assert cal.requested_images == 8 and len(cal.image_ids) == 8 and cal.image_ids == sorted(cal.image_ids)
    # Only training-split images calibrate (every 4th image of the shapes dataset is validation).
    assert cal.available_images == 12 and all(i % 4 != 0 for i in cal.image_ids)
    assert cal.tensor_shape == [8, 3, 128, 160]
    assert cal.annotations_sha256 == sha256_file(shapes_data / "annotations.json")
    # The recorded tensor hash is reproducible from the recorded selection.
    card = load_card(trained_model_dir)
    tensor, again = calibration_tensor(card, trained_model_dir, Int8ExportSettings(**INT8_TEST_SETTINGS), batch=1)
    assert again.tensor_sha256 == cal.tensor_sha256 == sha256_bytes(tensor.tobytes())
    stored = json.loads((record.path.parent / "export.json").read_text())
    assert stored["calibration"]["tensor_sha256"] == cal.tensor_sha256


def test_int8_backend_runs_and_stays_close_to_torch(tmp_path_factory, trained_model_dir, shapes_data):
    int8_export(tmp_path_factory)
    dataset = DetectionDataset.load(shapes_data)
    ids = [1, 2, 3]
    with create_backend("int8", trained_model_dir, threads=1, export_settings=INT8_TEST_SETTINGS) as backend:
        detections = predict_dataset(backend, dataset, ids)
        description = backend.describe()
    with create_backend("torch", trained_model_dir, threads=1) as torch_backend:
        reference = predict_dataset(torch_backend, dataset, ids)
    assert description.precision == "int8"
    assert description.details["qdq_nodes"]["QuantizeLinear"] > 0
    assert description.details["calibration"]["images"] == 8
    for ref, got in zip(reference, detections, strict=True):
        assert 0 < len(got) <= 100
        # Quantized, so not equal; but the best detection is the same sign in nearly the same place.
        assert abs(float(got.scores[0]) - float(ref.scores[0])) < 0.2
    assert any(not np.array_equal(r.scores, g.scores) for r, g in zip(reference, detections, strict=True))


def test_calibration_set_smaller_than_the_batch_is_one_input_error(tmp_path_factory, trained_model_dir):
    settings = {"onnx": {"batch": 4}, "calibration_images": 2}
    with pytest.raises(InputError, match="calibration set of 2 input\\(s\\) is smaller than the model's batch of 4") \
            as info:
        ensure_export(trained_model_dir, "int8", settings)
    assert "\n" not in str(info.value)


def test_missing_training_dataset_asks_for_calibration_data(trained_model_dir, tmp_path):
    card = load_card(trained_model_dir)
    moved = card.model_copy(update={"training": card.training.model_copy(
        update={"data": card.training.data.model_copy(update={"dataset_path": str(tmp_path / "gone")})})})
    with pytest.raises(InputError, match="pass --calibration-data DATASET"):
        calibration_source(moved, trained_model_dir, Int8ExportSettings())


def test_calibration_data_option_uses_all_images_of_that_dataset(trained_model_dir, shapes_data):
    card = load_card(trained_model_dir)
    source = calibration_source(card, trained_model_dir, Int8ExportSettings(calibration_data=str(shapes_data)))
    assert source.split == "all images" and len(source.image_ids) == 16


def test_high_precision_dtype_and_method_are_validated(trained_model_dir):
    with pytest.raises(InputError, match="high_precision_dtype"):
        ensure_export(trained_model_dir, "int8", {"high_precision_dtype": "bf16"})
    with pytest.raises(InputError, match="calibration_method"):
        ensure_export(trained_model_dir, "int8", {"calibration_method": "percentile"})


def _model_copy_with_dataset(trained_model_dir, out, dataset_path):
    import shutil

    shutil.copytree(trained_model_dir, out)
    card = json.loads((out / "card.json").read_text())
    card["training"]["data"]["dataset_path"] = str(dataset_path)
    (out / "card.json").write_text(json.dumps(card))
    return out


def test_cached_int8_export_is_found_without_the_training_dataset(tmp_path_factory, trained_model_dir, tmp_path):
    record = int8_export(tmp_path_factory)
    moved = _model_copy_with_dataset(trained_model_dir, tmp_path / "model", tmp_path / "gone")
    # Same weights, same recorded training annotations hash: the cache key is the same.
    assert ensure_export(moved, "int8", INT8_TEST_SETTINGS) == record


def test_changed_training_dataset_is_refused_for_calibration(trained_model_dir, shapes_data, tmp_path):
    import shutil

    changed = tmp_path / "data"
    shutil.copytree(shapes_data, changed)
    annotations = json.loads((changed / "annotations.json").read_text())
    annotations["annotations"] = annotations["annotations"][:-1]
    (changed / "annotations.json").write_text(json.dumps(annotations))
    model = _model_copy_with_dataset(trained_model_dir, tmp_path / "model", changed)
    with pytest.raises(InputError, match="training dataset changed since the model was trained"):
        ensure_export(model, "int8", {**INT8_TEST_SETTINGS, "seed": 5})


def test_ingested_onnx_needs_calibration_data_and_a_quantizable_graph(trained_model_dir, shapes_data, tmp_path):
    from tests.backends.onnx_files import constant_detector_onnx, ingested_onnx_model

    onnx_file = constant_detector_onnx(tmp_path / "const.onnx", (128, 160), classes=3)
    model = ingested_onnx_model(trained_model_dir, onnx_file, tmp_path / "model")
    with pytest.raises(InputError, match="records no training dataset; pass --calibration-data"):
        create_backend("int8", model).load()
    # A graph without a single quantizable layer: the export says so instead of shipping a no-op "INT8".
    settings = {"calibration_images": 2, "calibration_data": str(shapes_data)}
    with pytest.raises(InputError, match="no Q/DQ"):
        create_backend("int8", model, export_settings=settings).load()


def test_generated_training_world_is_regenerated_into_the_cache(trained_model_dir, tmp_path, monkeypatch):
    from gate.data.synth import WORLD_VERSION
    from gate.data.synth.world import generate_world

    # The card of a model trained on a 6-image world (seed 3) whose folder is gone.
    reference = generate_world(tmp_path / "reference-world", images=6, seed=3, workers=1)
    card = load_card(trained_model_dir)
    data = card.training.data.model_copy(update={
        "dataset_path": str(tmp_path / "gone"),
        "annotations_sha256": sha256_file(reference / "annotations.json"),
        "dataset_info": {"generator": "tsrgate.data.synth", "images": 6, "seed": 3, "world_version": WORLD_VERSION},
    })
    moved = card.model_copy(update={"training": card.training.model_copy(update={"data": data})})
    cache = tmp_path / "cache"
    monkeypatch.setenv("TSRGATE_CACHE", str(cache))
    source = calibration_source(moved, trained_model_dir, Int8ExportSettings())
    assert cache in source.dataset_path.parents
    assert source.annotations_sha256 == sha256_file(reference / "annotations.json")
    train_ids = [img.id for img in DetectionDataset.load(reference).images if img.tags.get("split") == "train"]
    assert train_ids and source.image_ids == sorted(train_ids)
