"""`compare_int8_layers`: fp32 vs Q/DQ intermediate tensors, layer by layer, on real images."""

from __future__ import annotations

import pytest

from gate.backends.int8_debug import Int8LayerReport, compare_int8_layers
from gate.errors import InputError
from tests.backends.exported import INT8_TEST_SETTINGS, int8_export, onnx_export, use_private_cache


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch, tmp_path_factory):
    use_private_cache(monkeypatch, tmp_path_factory)


def test_layer_report_ranks_where_the_error_grows(tmp_path_factory, trained_model_dir):
    int8, fp32 = int8_export(tmp_path_factory), onnx_export(tmp_path_factory)
    report = compare_int8_layers(trained_model_dir, INT8_TEST_SETTINGS, images=2, top=10)
    assert (report.fp32_onnx_sha256, report.int8_onnx_sha256) == (fp32.sha256, int8.sha256)
    # The validation split of the training data (every 4th shapes image) supplies the real images.
    assert report.image_ids == [4, 8]
    assert report.compared_tensors > 100
    assert set(report.output_errors) == {"logits", "pred_boxes"}
    assert all(v is not None and v > 0 for v in report.output_errors.values())  # quantization changes outputs
    growth = [layer.growth for layer in report.largest_growth]
    assert len(growth) == 10 and growth == sorted(growth, reverse=True) and growth[0] > 0
    for layer in report.largest_growth:
        assert layer.growth == pytest.approx(layer.relative_error - layer.input_relative_error)
    # Integer tensors are compared exactly; layers fed by differing indices are marked as such.
    assert all(0 < fraction <= 1 for fraction in report.changed_index_tensors.values())
    for layer in report.largest_growth + report.largest_error:
        if layer.changed_indices:
            assert any(name in layer.changed_indices for name in report.changed_index_tensors)
    errors = [layer.relative_error for layer in report.largest_error]
    assert errors == sorted(errors, reverse=True)
    assert Int8LayerReport.model_validate_json(report.model_dump_json()) == report


def test_explicit_data_folder_supplies_the_images(tmp_path_factory, trained_model_dir, shapes_data):
    int8_export(tmp_path_factory)
    report = compare_int8_layers(trained_model_dir, INT8_TEST_SETTINGS, data=shapes_data, images=1, top=3)
    assert report.image_ids == [1] and report.dataset_path == str(shapes_data)


def test_empty_data_folder_is_an_input_error(tmp_path_factory, trained_model_dir, tmp_path):
    from gate.data.coco import CocoDataset, save_coco

    int8_export(tmp_path_factory)
    (tmp_path / "empty" / "images").mkdir(parents=True)
    save_coco(CocoDataset(images=[], annotations=[], categories=[]), tmp_path / "empty" / "annotations.json")
    with pytest.raises(InputError, match="no images to compare on"):
        compare_int8_layers(trained_model_dir, INT8_TEST_SETTINGS, data=tmp_path / "empty", images=2)
