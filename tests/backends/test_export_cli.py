"""`tsrgate export` and `tsrgate debug int8`: thin CLI over the library, one-line errors, exit codes."""

from __future__ import annotations

import json

import pytest

from gate.backends import backend_names, create_backend
from gate.backends.availability import backend_availability
from gate.errors import InputError
from tests.backends.exported import INT8_TEST_SETTINGS, int8_export, onnx_export, use_private_cache


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch, tmp_path_factory):
    use_private_cache(monkeypatch, tmp_path_factory)


def test_registry_lists_every_deployment_form_and_refuses_unknown_names():
    assert {"torch", "onnx", "int8", "tensorrt", "tensorrt-int8"} <= set(backend_names())
    with pytest.raises(InputError, match=r"unknown backend 'openvino'; expected one of (absent, )?int8, onnx"):
        create_backend("openvino", ".")
    with pytest.raises(InputError, match="unknown backend"):
        backend_availability(["openvino"])
    statuses = {a.backend: a.status for a in backend_availability()}
    assert statuses["torch"] == statuses["onnx"] == statuses["int8"] == "available"


def test_export_onnx_prints_the_cached_file(run_cli, tmp_path_factory, trained_model_dir):
    record = onnx_export(tmp_path_factory)
    result = run_cli("export", trained_model_dir, "--format", "onnx")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == str(record.path)
    assert "opset 17" in result.output and "parity" in result.output


def test_export_int8_json_is_the_record(run_cli, tmp_path_factory, trained_model_dir):
    record = int8_export(tmp_path_factory)
    result = run_cli("export", trained_model_dir, "--format", "int8", "--calibration-images",
                     str(INT8_TEST_SETTINGS["calibration_images"]), "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["sha256"] == record.sha256 and printed["calibration"]["tensor_sha256"]


def test_export_to_out_folder(run_cli, trained_model_dir, tmp_path):
    result = run_cli("export", trained_model_dir, "--format", "onnx", "--out", tmp_path / "exp")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "exp" / "model.onnx").is_file() and (tmp_path / "exp" / "export.json").is_file()
    again = run_cli("export", trained_model_dir, "--format", "onnx", "--opset", "18", "--out", tmp_path / "exp")
    assert again.exit_code == 2 and "pass --force" in again.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("export", "{missing}", "--format", "onnx"), "model folder not found"),
        (("export", "{model}", "--format", "int8", "--calibration-images", "2", "--batch", "4"),
         "smaller than the model's batch of 4"),
        (("export", "{model}", "--format", "int8", "--calibration-data", "{missing}"), "not found"),
        (("debug", "int8", "{model}", "--images", "0"), "--images: expected at least 1"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message, run_cli, trained_model_dir, tmp_path):
    filled = [a.format(model=trained_model_dir, missing=tmp_path / "missing") for a in args]
    result = run_cli(*filled)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]


def test_debug_int8_lists_layers(run_cli, tmp_path_factory, trained_model_dir, tmp_path):
    int8_export(tmp_path_factory)
    out = tmp_path / "layers.json"
    result = run_cli("debug", "int8", trained_model_dir, "--calibration-images",
                     str(INT8_TEST_SETTINGS["calibration_images"]), "--images", "1", "--top", "3", "--out", out)
    assert result.exit_code == 0, result.output
    assert "layers adding the most error" in result.output
    assert len(json.loads(out.read_text())["largest_growth"]) == 3
