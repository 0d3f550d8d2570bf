"""Hand-built ONNX files and ingested-ONNX model folders for bad-input tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from gate.storage import sha256_file


def constant_detector_onnx(path: Path, input_hw: tuple[int, int], classes: int, queries: int = 10,
                           logit_value: float = -2.0) -> Path:
    """A valid ONNX graph (image) -> (logits, pred_boxes) whose outputs are constants (NaN if asked)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    height, width = input_hw
    logits = np.full((1, queries, classes), logit_value, dtype=np.float32)
    boxes = np.tile(np.array([0.5, 0.5, 0.2, 0.2], dtype=np.float32), (1, queries, 1))
    nodes = [
        helper.make_node("ReduceMean", ["pixel_values"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["logits_const", "nothing"], ["logits"]),
        helper.make_node("Add", ["boxes_const", "nothing"], ["pred_boxes"]),
    ]
    graph = helper.make_graph(
        nodes, "constant_detector",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, [1, 3, height, width])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, queries, classes]),
         helper.make_tensor_value_info("pred_boxes", TensorProto.FLOAT, [1, queries, 4])],
        [numpy_helper.from_array(logits, "logits_const"), numpy_helper.from_array(boxes, "boxes_const"),
         numpy_helper.from_array(np.zeros((), np.float32), "zero")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def ingested_onnx_model(source_model: Path, onnx_file: Path, out: Path) -> Path:
    """A model folder like `tsrgate ingest` writes for an ONNX file, with the card of `source_model`."""
    out.mkdir(parents=True, exist_ok=True)
    card = json.loads((source_model / "card.json").read_text())
    shutil.copyfile(onnx_file, out / "model.onnx")
    card["architecture"] = {"family": "rt_detr", "size": None, "format": "onnx", "config": {}}
    card["weights"] = {"file": "model.onnx", "sha256": sha256_file(out / "model.onnx"),
                       "bytes": (out / "model.onnx").stat().st_size, "parameters": None}
    card["created_by"] = "ingest"
    card["training"] = None
    (out / "card.json").write_text(json.dumps(card, indent=2))
    return out
