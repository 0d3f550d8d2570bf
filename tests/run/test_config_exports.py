"""Export settings per backend in the gate config: validated by each export's own schema, one-line errors."""

from __future__ import annotations

import pytest

from gate.errors import InputError
from gate.results.config import load_gate_config


def _config(tmp_path, body: str):
    path = tmp_path / "tsrgate.yaml"
    path.write_text("suites: [clean]\nbackends: [torch, onnx, int8]\n" + body)
    return path


def test_export_settings_are_validated_and_filled_with_defaults(tmp_path):
    config = load_gate_config(_config(tmp_path, "exports:\n  int8: {high_precision_dtype: fp16}\n  onnx: {opset: 18}\n"))
    assert config.exports["int8"]["high_precision_dtype"] == "fp16"
    assert config.exports["int8"]["quantize_op_types"] == ["Conv"]  # the default, recorded explicitly
    assert config.exports["onnx"] == {"opset": 18, "batch": 1}


@pytest.mark.parametrize(("body", "message"), [
    ("exports:\n  torch: {opset: 17}\n", "backend 'torch' runs no export"),
    ("exports:\n  int8: {high_precision_dtype: bf16}\n", "exports.int8: invalid int8 export settings at high_precision_dtype"),
    ("exports:\n  onnx: {calibration_images: 8}\n", "exports.onnx: invalid onnx export settings at calibration_images"),
])
def test_bad_export_settings_are_one_line_naming_the_file(tmp_path, body, message):
    path = _config(tmp_path, body)
    with pytest.raises(InputError) as caught:
        load_gate_config(path)
    assert message in str(caught.value) and str(path) in str(caught.value)
    assert "\n" not in str(caught.value)
