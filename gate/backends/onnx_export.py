"""Export a model folder to fp32 ONNX and check an ONNX file against the model card.

The legacy TorchScript exporter (`torch.onnx.export(dynamo=False)`, opset 17) is used on purpose:
on RT-DETR it takes about 2 s and matches PyTorch to ~1e-6, while the dynamo exporter leaves a
float64 `Cos` that ONNX Runtime cannot load at some input sizes. Its price is a fixed input shape,
taken from the card (batch from the export settings), which is what deployment uses anyway.
"""

from __future__ import annotations

import shutil
import time
import warnings
from pathlib import Path

import numpy as np

from gate import __version__
from gate.backends.exports import ExportRecord, OnnxExportSettings, TensorSpec
from gate.errors import InputError
from gate.cards.card import ModelCard
from gate.storage import sha256_file

ONNX_EXPORT_FILE = "model.onnx"
INPUT_NAME = "pixel_values"
OUTPUT_NAMES = ("logits", "pred_boxes")
EXPORTER = "torch.onnx.export (TorchScript, dynamo=False)"
_TRACE_SEED = 0


def onnx_library_versions() -> dict[str, str]:
    import onnx
    import onnxruntime

    return {"tsrgate": __version__, "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__}


def _dims(value_info) -> list[int | str | None]:
    dims: list[int | str | None] = []
    for dim in value_info.type.tensor_type.shape.dim:
        if dim.HasField("dim_value"):
            dims.append(int(dim.dim_value))
        elif dim.HasField("dim_param"):
            dims.append(dim.dim_param)
        else:
            dims.append(None)
    return dims


def _dtype_name(value_info) -> str:
    import onnx

    return onnx.helper.tensor_dtype_to_np_dtype(value_info.type.tensor_type.elem_type).name


def graph_io(model) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """(inputs, outputs) of an ONNX ModelProto; initializers listed as inputs are left out."""
    initializers = {i.name for i in model.graph.initializer}
    inputs = [TensorSpec(name=v.name, shape=_dims(v), dtype=_dtype_name(v))
              for v in model.graph.input if v.name not in initializers]
    outputs = [TensorSpec(name=v.name, shape=_dims(v), dtype=_dtype_name(v)) for v in model.graph.output]
    return inputs, outputs


def _fits(dim: int | str | None, expected: int) -> bool:
    return not isinstance(dim, int) or dim == expected


def check_io_against_card(inputs: list[TensorSpec], outputs: list[TensorSpec], card: ModelCard,
                          path: str | Path) -> tuple[str, int | None]:
    """(input name, fixed batch or None) when the ONNX graph fits the card; else one InputError naming the mismatch."""
    height, width = card.input_size
    expected = f"input (N, 3, {height}, {width}) {card.preprocessing.dtype}"
    if len(inputs) != 1:
        raise InputError(f"expected one image {expected} per the model card, got {len(inputs)} inputs", path=path)
    image = inputs[0]
    shape = image.shape
    if len(shape) != 4 or not (_fits(shape[1], 3) and _fits(shape[2], height) and _fits(shape[3], width)) \
            or image.dtype != card.preprocessing.dtype:
        raise InputError(f"expected image {expected} per the model card, got {image.name} {tuple(shape)} {image.dtype}",
                         path=path)
    if len(outputs) < 2:
        raise InputError(f"expected outputs (logits, pred_boxes), got {len(outputs)} output(s)", path=path)
    by_name = {o.name: o for o in outputs}
    logits = by_name.get("logits", outputs[0])
    boxes = by_name.get("pred_boxes", outputs[1])
    if len(logits.shape) != 3 or not _fits(logits.shape[2], card.num_classes):
        raise InputError(f"expected logits (N, Q, {card.num_classes}) per the model card's {card.num_classes} classes, "
                         f"got {logits.name} {tuple(logits.shape)}", path=path)
    if len(boxes.shape) != 3 or not _fits(boxes.shape[2], 4):
        raise InputError(f"expected pred_boxes (N, Q, 4), got {boxes.name} {tuple(boxes.shape)}", path=path)
    batch = shape[0] if isinstance(shape[0], int) else None
    return image.name, batch


def check_onnx_file(path: str | Path, card: ModelCard) -> tuple[str, int | None]:
    """Run `onnx.checker` (full check) on a file and check its I/O against the card."""
    import onnx

    path = Path(path)
    try:
        onnx.checker.check_model(str(path), full_check=True)
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - onnx raises several types for broken files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise InputError(f"invalid ONNX model ({type(exc).__name__}: {first})", path=path) from None
    inputs, outputs = graph_io(model)
    return check_io_against_card(inputs, outputs, card, path)


def _output_wrapper(model):
    """A module returning (logits, pred_boxes) as a tuple: the graph's two outputs, named."""
    import torch

    class DetectorOutputs(torch.nn.Module):
        def __init__(self, detector):
            super().__init__()
            self.detector = detector

        def forward(self, pixel_values):
            outputs = self.detector(pixel_values=pixel_values)
            return outputs.logits, outputs.pred_boxes

    return DetectorOutputs(model).eval()


def _ort_outputs(path: Path, feed: np.ndarray) -> list[np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: feed})


def export_onnx(model_dir: Path, card: ModelCard, settings: OnnxExportSettings, dest: Path, key: str) -> ExportRecord:
    """Write `dest/model.onnx` for a model folder and return its (not yet stored) record."""
    import onnx

    started = time.perf_counter()
    target = dest / ONNX_EXPORT_FILE
    libraries = onnx_library_versions()
    parity: dict[str, float] = {}
    if card.architecture.format == "onnx":
        # An ingested ONNX model is already the deployment file: copied, never re-exported.
        shutil.copyfile(model_dir / card.weights.file, target)
        exporter = "ingested ONNX (copied from the model folder)"
    else:
        exporter = EXPORTER
        parity = _export_torch(model_dir, card, settings, target, libraries)
    input_name, _ = check_onnx_file(target, card)
    model = onnx.load(str(target), load_external_data=False)
    inputs, outputs = graph_io(model)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    return ExportRecord(
        format="onnx", file=ONNX_EXPORT_FILE, sha256=sha256_file(target), bytes=target.stat().st_size,
        settings_key=key, settings=settings.model_dump(mode="json"), model_name=card.name,
        model_weights_sha256=card.weights.sha256, exporter=exporter, opset=int(opset), inputs=inputs,
        outputs=outputs, libraries=libraries, parity=parity, seconds=round(time.perf_counter() - started, 3),
    )


def _export_torch(model_dir: Path, card: ModelCard, settings: OnnxExportSettings, target: Path,
                  libraries: dict[str, str]) -> dict[str, float]:
    import torch
    import transformers

    from gate.cards.rtdetr import load_detector

    if card.preprocessing.dtype != "float32":
        raise InputError(f"ONNX export supports float32 model inputs, the card says {card.preprocessing.dtype}",
                         path=model_dir)
    libraries.update({"torch": torch.__version__, "transformers": transformers.__version__})
    _, model = load_detector(model_dir, card)
    wrapper = _output_wrapper(model)
    height, width = card.input_size
    # A seeded input: the trace (and so the file) is the same on every run with the same libraries.
    generator = torch.Generator().manual_seed(_TRACE_SEED)
    sample = torch.rand((settings.batch, 3, height, width), generator=generator)
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        # The tracer warns about every Python-side shape check in transformers; none changes the graph here.
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                wrapper, (sample,), str(target), dynamo=False, opset_version=settings.opset,
                input_names=[INPUT_NAME], output_names=list(OUTPUT_NAMES), do_constant_folding=True,
            )
        except Exception as exc:  # noqa: BLE001 - the exporter raises many types; one line for the user
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"ONNX export failed ({type(exc).__name__}: {first})", path=model_dir) from None
        reference = [t.numpy() for t in wrapper(sample)]
    exported = _ort_outputs(target, sample.numpy())
    parity = {}
    for name, ref, got in zip(OUTPUT_NAMES, reference, exported, strict=True):
        if not np.isfinite(got).all():
            raise InputError(f"the exported ONNX emits NaN or inf in {name}", path=target)
        parity[name] = float(np.abs(ref.astype(np.float64) - got.astype(np.float64)).max())
    return parity
