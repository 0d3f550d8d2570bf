"""`tsrgate ingest` of YOLO and boxes/scores/labels ONNX files: the probe inference and its one-line refusals."""

from __future__ import annotations

import json

import pytest

from gate.cards.card import load_card
from tests.backends.family_models import LAYOUTS, export_family_onnx, family_card, write_card


@pytest.fixture(scope="module")
def onnx_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("family-onnx")
    files = {layout: export_family_onnx(root / f"{layout}.onnx", layout) for layout in LAYOUTS}
    files["nan"] = export_family_onnx(root / "nan.onnx", "yolo_raw", fault="nan")
    files["negative"] = export_family_onnx(root / "negative.onnx", "yolo_raw", fault="negative")
    files["two_inputs"] = export_family_onnx(root / "two.onnx", "yolo_raw", two_inputs=True)
    return files


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_every_layout_is_ingested_with_its_declared_outputs(onnx_files, layout, tmp_path, run_cli):
    card = write_card(tmp_path / "card.json", family_card(layout))
    result = run_cli("ingest", onnx_files[layout], "--card", card, "--out", tmp_path / "model")
    assert result.exit_code == 0, result.output
    loaded = load_card(tmp_path / "model")
    assert loaded.architecture.outputs.layout == layout and loaded.architecture.reference == "onnx"


def _refused(run_cli, source, card, out):
    result = run_cli("ingest", source, "--card", card, "--out", out)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert not out.exists()
    return lines[0]


def test_wrong_class_count_names_the_output_and_both_shapes(onnx_files, tmp_path, run_cli):
    card = write_card(tmp_path / "card.json", family_card("yolo_raw", num_classes=5))
    line = _refused(run_cli, onnx_files["yolo_raw"], card, tmp_path / "m")
    assert "output 'output0': expected shape (B, 9, N), got (1, 7, 64)" in line and "yolo_raw.onnx" in line


def test_wrong_family_is_refused_naming_the_missing_output(onnx_files, tmp_path, run_cli):
    # A YOLO end-to-end file declared as boxes/scores/labels: none of those outputs exist.
    card = write_card(tmp_path / "card.json", family_card("boxes_scores_labels"))
    line = _refused(run_cli, onnx_files["yolo_end_to_end"], card, tmp_path / "m")
    assert "declared output 'boxes' is not an output of the model" in line
    # A raw head declared end-to-end: the name exists, the shape does not fit.
    card = write_card(tmp_path / "card2.json", family_card("yolo_end_to_end"))
    line = _refused(run_cli, onnx_files["yolo_raw"], card, tmp_path / "m")
    assert "output 'output0': expected shape (B, N, 6), got (1, 7, 64)" in line


def test_layout_of_another_family_is_a_card_error(onnx_files, tmp_path, run_cli):
    card = write_card(tmp_path / "card.json", family_card("yolo_raw", family="boxes_scores_labels"))
    line = _refused(run_cli, onnx_files["yolo_raw"], card, tmp_path / "m")
    assert "family boxes_scores_labels expects layout boxes_scores_labels or efficient_nms, got yolo_raw" in line


def test_yolo_card_without_outputs_section_is_refused(onnx_files, tmp_path, run_cli):
    raw = family_card("yolo_raw")
    del raw["architecture"]["outputs"]
    line = _refused(run_cli, onnx_files["yolo_raw"], write_card(tmp_path / "card.json", raw), tmp_path / "m")
    assert "family yolo needs an outputs section" in line


def test_two_image_inputs_are_refused(onnx_files, tmp_path, run_cli):
    card = write_card(tmp_path / "card.json", family_card("yolo_raw"))
    line = _refused(run_cli, onnx_files["two_inputs"], card, tmp_path / "m")
    assert "got 2 inputs" in line


@pytest.mark.parametrize(("fault", "message"), [
    ("nan", "the model emitted NaN or inf in its output0 output"),
    ("negative", "the model emitted a box of negative width or height"),
])
def test_nan_or_negative_boxes_from_the_model_are_refused(onnx_files, tmp_path, run_cli, fault, message):
    card = write_card(tmp_path / "card.json", family_card("yolo_raw"))
    line = _refused(run_cli, onnx_files[fault], card, tmp_path / "m")
    assert f"probe inference: {message}" in line and f"{fault}.onnx" in line


def test_stride_must_divide_the_input_size(onnx_files, tmp_path, run_cli):
    raw = family_card("yolo_raw")
    raw["preprocessing"]["stride"] = 48
    line = _refused(run_cli, onnx_files["yolo_raw"], write_card(tmp_path / "card.json", raw), tmp_path / "m")
    assert "expected multiples of the stride 48" in line


def test_class_outside_the_card_is_refused_at_run_time(onnx_files, tmp_path):
    """An end-to-end model emitting a class index the card does not have: one error naming the file."""
    import numpy as np

    from gate.backends import create_backend
    from gate.errors import InputError
    from gate.models.ingest import ingest_model

    card = write_card(tmp_path / "card.json", family_card("yolo_end_to_end"))
    ingest_model(onnx_files["yolo_end_to_end"], card, tmp_path / "m")
    data = json.loads((tmp_path / "m" / "card.json").read_text())
    data["class_names"] = data["class_names"][:1]  # the graph emits classes 0..2
    (tmp_path / "m" / "card.json").write_text(json.dumps(data))
    image = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    with create_backend("onnx", tmp_path / "m") as backend, pytest.raises(InputError, match="outside the card's 1 classes"):
        backend.infer([image], [1])
