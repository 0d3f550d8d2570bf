"""When INT8 loses accuracy: where in the network does the error appear?

Both the fp32 ONNX and its Q/DQ version are run with ONNX Runtime with every intermediate float
tensor exposed as an extra graph output (Model Optimizer keeps the fp32 tensor names, so the two
graphs line up by name). On a few real images each tensor's relative error
||int8 - fp32|| / ||fp32|| is measured; a layer's *growth* is its output error minus the largest
error among its inputs, i.e. the error that layer itself added. The layers with the largest growth
are the ones to keep in higher precision (modelopt's `nodes_to_exclude`). Integer tensors are
compared too: where TopK picks different queries, every tensor gathered with those indices jumps in
error without any precision loss of its own; such layers are marked, and the real cause is upstream.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from gate.backends.exporter import ensure_export
from gate.backends.exports import ExportRecord, Int8ExportSettings, settings_for
from gate.backends.preprocess import preprocess
from gate.errors import InputError
from gate.cards.card import load_card

_EPS = 1e-12


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LayerError(_Strict):
    node: str
    op_type: str
    output: str
    relative_error: float  # mean over images of ||int8 - fp32|| / ||fp32||
    max_abs_error: float
    input_relative_error: float  # the largest relative error among the node's compared inputs
    growth: float  # relative_error - input_relative_error
    # Set when an integer input (e.g. TopK indices) differs: the error is a changed selection, not precision.
    changed_indices: str | None = None


class Int8LayerReport(_Strict):
    model_name: str
    fp32_onnx_sha256: str
    int8_onnx_sha256: str
    int8_settings: dict
    dataset_path: str
    image_ids: list[int]
    compared_tensors: int
    # Integer tensors (e.g. TopK indices) that differ, with the fraction of differing entries: a changed
    # query selection makes everything downstream look wrong; the cause is upstream of it.
    changed_index_tensors: dict[str, float] = Field(default_factory=dict)
    output_errors: dict[str, float | None]  # relative error of the graph outputs (logits, pred_boxes)
    largest_growth: list[LayerError] = Field(default_factory=list)
    largest_error: list[LayerError] = Field(default_factory=list)


def _with_all_outputs(path: Path):
    """The model with every inferred float or integer intermediate tensor added as a graph output."""
    import onnx

    model = onnx.load(str(path))
    inferred = onnx.shape_inference.infer_shapes(model)
    typed = {v.name: v for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    existing = {o.name for o in model.graph.output}
    # Float tensors carry the precision error; integer ones (TopK indices) show where a selection flipped.
    kinds = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE, onnx.TensorProto.BFLOAT16,
             onnx.TensorProto.INT64, onnx.TensorProto.INT32}
    for node in model.graph.node:
        if node.op_type == "Constant":
            continue
        for name in node.output:
            info = typed.get(name)
            if name and name not in existing and info is not None and info.type.tensor_type.elem_type in kinds:
                model.graph.output.append(info)
                existing.add(name)
    return model


def _session(model, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # No fusion: fused kernels would swallow the intermediate tensors being compared.
    # This also keeps Q/DQ as explicit quantize/dequantize steps: the graph's exact semantics.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def _debug_images(card, model_dir: Path, data: str | Path | None, count: int):
    """(dataset path, [(image id, pixels)]): --data's first images, else the training dataset's validation split."""
    from gate.backends.int8_export import _resolve_dataset_path
    from gate.data.dataset import DetectionDataset
    from gate.cards.classes import select_images

    if data is not None:
        path = Path(data)
        dataset = DetectionDataset.load(path)
        ids = [img.id for img in dataset.images]
    else:
        if card.training is None:
            raise InputError("the model card records no training dataset; pass --data DATASET", path=model_dir)
        path = _resolve_dataset_path(card.training.data.dataset_path, model_dir)
        if not (path / "annotations.json").is_file():
            raise InputError(f"the model's training dataset {card.training.data.dataset_path} is not here; "
                             f"pass --data DATASET", path=model_dir)
        dataset = DetectionDataset.load(path)
        split = card.training.data.validation_split or card.training.data.train_split
        ids = ([img.id for img in dataset.images] if split.tag is None
               else sorted(select_images(dataset.coco, split.tag, split.values)))
    ids = ids[:count]
    if not ids:
        raise InputError("no images to compare on", path=path)
    return path, [(loaded.info.id, loaded.pixels) for loaded in dataset.iter_images(ids)]


def compare_int8_layers(
    model_dir: str | Path,
    settings: Int8ExportSettings | dict | None = None,
    *,
    data: str | Path | None = None,
    images: int = 4,
    top: int = 15,
    threads: int = 1,
) -> Int8LayerReport:
    """Layer-by-layer fp32 vs Q/DQ comparison on real images; largest error growth first."""
    model_dir = Path(model_dir)
    settings = settings_for("int8", settings)
    card = load_card(model_dir, verify_weights=False)
    q_record: ExportRecord = ensure_export(model_dir, "int8", settings)
    f_record: ExportRecord = ensure_export(model_dir, "onnx", settings.onnx)
    dataset_path, probes = _debug_images(card, model_dir, data, images)
    fp32_model = _with_all_outputs(f_record.path)
    int8_model = _with_all_outputs(q_record.path)
    fp32_session, int8_session = _session(fp32_model, threads), _session(int8_model, threads)
    int8_names = {o.name for o in int8_session.get_outputs()}
    names = [o.name for o in fp32_session.get_outputs() if o.name in int8_names]
    input_name = fp32_session.get_inputs()[0].name
    batch = f_record.inputs[0].shape[0] if isinstance(f_record.inputs[0].shape[0], int) else 1
    errors: dict[str, list[float]] = {n: [] for n in names}
    max_abs: dict[str, float] = {n: 0.0 for n in names}
    mismatch: dict[str, list[float]] = {}
    for image_id, pixels in probes:
        rows = preprocess([pixels], [image_id], card.preprocessing).pixel_values
        for row in rows:
            feed = np.repeat(row[None], batch, axis=0).astype(np.float32)
            got_f = dict(zip([o.name for o in fp32_session.get_outputs()], fp32_session.run(None, {input_name: feed})))
            got_q = dict(zip([o.name for o in int8_session.get_outputs()], int8_session.run(None, {input_name: feed})))
            for name in names:
                ref_raw, val_raw = np.asarray(got_f[name]), np.asarray(got_q[name])
                if ref_raw.shape != val_raw.shape:
                    continue
                if np.issubdtype(ref_raw.dtype, np.integer):
                    mismatch.setdefault(name, []).append(float(np.mean(ref_raw != val_raw)) if ref_raw.size else 0.0)
                    continue
                ref, val = ref_raw.astype(np.float64), val_raw.astype(np.float64)
                if not np.isfinite(ref).all():
                    continue
                diff = np.where(np.isfinite(val), val - ref, np.inf)
                errors[name].append(float(np.linalg.norm(diff.ravel()) / max(np.linalg.norm(ref.ravel()), _EPS)))
                if diff.size:
                    max_abs[name] = max(max_abs[name], float(np.abs(diff).max()))
    mean_error = {n: float(np.mean(v)) for n, v in errors.items() if v}
    changed = {n: float(np.mean(v)) for n, v in mismatch.items() if v and np.mean(v) > 0}
    layers = []
    for node in fp32_model.graph.node:
        for output in node.output:
            if output not in mean_error:
                continue
            upstream = [mean_error[i] for i in node.input if i in mean_error]
            before = max(upstream) if upstream else 0.0
            flipped = [f"{i} differs in {changed[i]:.0%} of entries" for i in node.input if i in changed]
            layers.append(LayerError(node=node.name or output, op_type=node.op_type, output=output,
                                     relative_error=mean_error[output], max_abs_error=max_abs[output],
                                     input_relative_error=before, growth=mean_error[output] - before,
                                     changed_indices="; ".join(flipped) or None))
    graph_outputs = [o.name for o in f_record.outputs]
    return Int8LayerReport(
        model_name=card.name, fp32_onnx_sha256=f_record.sha256, int8_onnx_sha256=q_record.sha256,
        int8_settings=q_record.settings, dataset_path=str(dataset_path), image_ids=[i for i, _ in probes],
        compared_tensors=len(mean_error), changed_index_tensors=changed, output_errors={n: mean_error.get(n) for n in graph_outputs},
        largest_growth=sorted(layers, key=lambda x: (-x.growth, x.output))[:top],
        largest_error=sorted(layers, key=lambda x: (-x.relative_error, x.output))[:top],
    )


def format_layer_table(layers: Sequence[LayerError]) -> list[str]:
    """Text rows: growth, error, op and node name."""
    rows = [f"{'growth':>9} {'rel.err':>9} {'input':>9}  {'op':<18} node"]
    for layer in layers:
        marker = "  [selection changed upstream]" if layer.changed_indices else ""
        rows.append(f"{layer.growth:9.4f} {layer.relative_error:9.4f} {layer.input_relative_error:9.4f}  "
                    f"{layer.op_type:<18} {layer.node}{marker}")
    return rows
