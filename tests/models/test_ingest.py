"""Ingest: Hugging Face folders, model folders, ONNX, and refused pickles."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file

from gate.errors import InputError, RefusedError
from gate.cards.card import load_card
from gate.models.ingest import ingest_model
from gate.cards.rtdetr import load_detector


def _draft(trained_model_dir, tmp_path, **changes):
    """A user-written card: the trained card without weights and config (ingest fills them in)."""
    data = json.loads((trained_model_dir / "card.json").read_text())
    for key in ("weights", "training", "evaluation", "created_by"):
        data.pop(key)
    data["architecture"].pop("config")
    data.update(changes)
    path = tmp_path / "draft.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture()
def hf_folder(trained_model_dir, tmp_path):
    _, model = load_detector(trained_model_dir)
    folder = tmp_path / "hf"
    model.save_pretrained(folder)
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()
    return folder


def test_hugging_face_folder_round_trip(trained_model_dir, hf_folder, tmp_path):
    card = ingest_model(hf_folder, _draft(trained_model_dir, tmp_path), tmp_path / "ingested")
    original = load_card(trained_model_dir)
    assert card.created_by == "ingest"
    assert card.class_names == original.class_names and card.preprocessing == original.preprocessing
    assert card.architecture.config["id2label"] == original.architecture.config["id2label"]
    load_card(tmp_path / "ingested")  # hash and classes verified
    # save_pretrained renames tensors on disk; ingest maps them back, so the weights are identical.
    a = load_file(str(trained_model_dir / "model.safetensors"))
    b = load_file(str(tmp_path / "ingested" / "model.safetensors"))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert card.weights.sha256 == original.weights.sha256


def test_model_folder_round_trip_keeps_the_same_bytes(trained_model_dir, tmp_path):
    card = ingest_model(trained_model_dir, trained_model_dir / "card.json", tmp_path / "copy", name="model")
    assert card == load_card(trained_model_dir)
    assert (tmp_path / "copy" / "model.safetensors").read_bytes() == (trained_model_dir / "model.safetensors").read_bytes()
    assert (tmp_path / "copy" / "card.json").read_bytes() == (trained_model_dir / "card.json").read_bytes()


def test_pickle_is_refused_without_the_trust_flag(trained_model_dir, tmp_path):
    import torch

    _, model = load_detector(trained_model_dir)
    checkpoint = tmp_path / "model.pt"
    torch.save({"state_dict": model.state_dict()}, checkpoint)
    draft = _draft(trained_model_dir, tmp_path)
    draft_data = json.loads(draft.read_text())
    draft_data["architecture"]["config"] = load_card(trained_model_dir).architecture.config
    draft.write_text(json.dumps(draft_data))
    with pytest.raises(RefusedError, match="pickled checkpoint refused.*--trust-pickle"):
        ingest_model(checkpoint, draft, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    card = ingest_model(checkpoint, draft, tmp_path / "out", trust_pickle=True)
    assert card.weights.file == "model.safetensors"  # converted: no pickle in the model folder
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["card.json", "model.safetensors"]
    assert not list((tmp_path / "out").glob("*.pt"))
    assert card.weights.sha256 == load_card(trained_model_dir).weights.sha256


def test_cli_refuses_a_pickle_in_one_line(run_cli, trained_model_dir, tmp_path):
    (tmp_path / "model.bin").write_bytes(b"\x80\x04pickle")
    result = run_cli("ingest", tmp_path / "model.bin", "--card", trained_model_dir / "card.json",
                     "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {tmp_path / 'model.bin'}: pickled checkpoint refused")
    assert len(result.output.strip().splitlines()) == 1


def test_card_with_other_class_count_is_refused(trained_model_dir, hf_folder, tmp_path):
    draft = _draft(trained_model_dir, tmp_path, class_names=["a", "b"])
    with pytest.raises(InputError, match=r"class_names: expected 3 names"):
        ingest_model(hf_folder, draft, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_recorded_hash_that_differs_is_refused(trained_model_dir, hf_folder, tmp_path):
    data = json.loads((trained_model_dir / "card.json").read_text())
    data["weights"]["sha256"] = "0" * 64
    draft = tmp_path / "card.json"
    draft.write_text(json.dumps(data))
    with pytest.raises(InputError, match="records weights sha256 000000000000"):
        ingest_model(trained_model_dir, draft, tmp_path / "out")


def test_corrupt_safetensors_is_refused(trained_model_dir, hf_folder, tmp_path):
    (hf_folder / "model.safetensors").write_bytes(b"\x10\x00\x00\x00garbage")
    with pytest.raises(InputError, match="safetensors"):
        ingest_model(hf_folder, _draft(trained_model_dir, tmp_path), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out.*"))  # no staging leftovers


def _tiny_onnx(path, height, width, classes):
    import onnx
    from onnx import TensorProto, helper

    image = helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, [1, 3, height, width])
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1, classes])
    boxes = helper.make_tensor_value_info("pred_boxes", TensorProto.FLOAT, [1, 1, 4])
    zeros_l = helper.make_tensor("zl", TensorProto.FLOAT, [1, 1, classes], [0.0] * classes)
    zeros_b = helper.make_tensor("zb", TensorProto.FLOAT, [1, 1, 4], [0.5] * 4)
    nodes = [helper.make_node("Constant", [], ["logits"], value=zeros_l),
             helper.make_node("Constant", [], ["pred_boxes"], value=zeros_b)]
    graph = helper.make_graph(nodes, "stub", [image], [logits, boxes])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_onnx_with_matching_card_is_ingested(trained_model_dir, tmp_path):
    model = _tiny_onnx(tmp_path / "m.onnx", 128, 160, 3)
    card = ingest_model(model, _draft(trained_model_dir, tmp_path), tmp_path / "out")
    assert card.architecture.format == "onnx" and (tmp_path / "out" / "model.onnx").is_file()
    load_card(tmp_path / "out")


@pytest.mark.parametrize(
    ("height", "width", "classes", "message"),
    [
        (320, 320, 3, "input is 320x320 but the card's input_size is 128x160"),
        (128, 160, 5, "the card names 3 classes but the ONNX logits have 5"),
    ],
)
def test_onnx_that_contradicts_the_card_is_refused(trained_model_dir, tmp_path, height, width, classes, message):
    model = _tiny_onnx(tmp_path / "m.onnx", height, width, classes)
    with pytest.raises(InputError, match=message):
        ingest_model(model, _draft(trained_model_dir, tmp_path), tmp_path / "out")
    assert not (tmp_path / "out").exists()
