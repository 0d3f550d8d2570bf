"""INT8 export: NVIDIA Model Optimizer's ONNX PTQ turns the fp32 ONNX into an explicit Q/DQ ONNX.

The Q/DQ file is what TensorRT builds an INT8 engine from; here it also runs on ONNX Runtime (CPU),
so its accuracy can be checked on a machine without a GPU. Calibration images are drawn from the
model's training data (seeded, recorded with the sha256 of the exact calibration tensor) and fed
through the card's preprocessing, so the ranges are calibrated on what the model really sees.

`high_precision_dtype` defaults to fp32: measured on a trained tiny RT-DETR, modelopt's own default
(fp16 for everything not quantized) dropped mAP50-95 from 0.628 to 0.204, fp32 kept 0.623.
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gate.backends.exports import CalibrationRecord, ExportRecord, Int8ExportSettings
from gate.backends.onnx_export import check_onnx_file, graph_io, onnx_library_versions
from gate.backends.preprocess import preprocess
from gate.errors import InputError
from gate.cards.card import ModelCard
from gate.storage import sha256_bytes, sha256_file

INT8_EXPORT_FILE = "model.int8.onnx"
QUANTIZE_LOG = "quantize.log"
QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")


@dataclass(frozen=True)
class CalibrationSource:
    """The dataset calibration images come from and which of its images are eligible."""

    dataset_path: Path
    annotations_sha256: str
    split: str
    image_ids: list[int]


def _resolve_dataset_path(raw: str, model_dir: Path) -> Path:
    path = Path(raw)
    if path.is_absolute():
        return path
    # Relative paths in a card are relative to where training ran (the repository root); fall back
    # to the model folder for cards that travelled with their data.
    for base in (Path.cwd(), model_dir):
        if (base / path / "annotations.json").is_file():
            return base / path
    return path


def _generated_training_world(card: ModelCard) -> tuple[Path, str | None] | None:
    """For a model trained on the generated world: (that world in the cache, note), generated once and
    shared with suites.

    The card records the generator, seed and image count, so the training data can be rebuilt on any
    machine; its annotations hash is checked against the card afterwards. A card trained on an older
    world version gets the same seed and size from the current generator (world v1's pixels depended
    on the CPU that rendered them, so v1 cannot be rebuilt exactly); the note says so in the record.
    """
    info = getattr(card.training.data, "dataset_info", None) or {}
    if info.get("generator") != "tsrgate.data.synth" or not {"images", "seed", "world_version"} <= set(info):
        return None
    from gate.data.synth import WORLD_VERSION
    from gate.locations import cache_root
    from gate.suites.source import ensure_world
    from gate.suites.spec import SuiteSource, SynthSource

    trained_on = str(info["world_version"])
    synth = SynthSource(images=int(info["images"]), seed=int(info["seed"]), version=WORLD_VERSION)
    note = None if trained_on == WORLD_VERSION else (
        f"generated world v{WORLD_VERSION} (seed {synth.seed}, {synth.images} images) standing in for the card's "
        f"v{trained_on}, which the current generator no longer renders")
    return ensure_world(SuiteSource(synth=synth), cache_root()), note


def calibration_source(card: ModelCard, model_dir: Path, settings: Int8ExportSettings) -> CalibrationSource:
    """Where the calibration images come from: `settings.calibration_data`, else the card's training dataset."""
    from gate.data.dataset import DetectionDataset
    from gate.cards.classes import select_images

    if settings.calibration_data is not None:
        path = Path(settings.calibration_data)
        dataset = DetectionDataset.load(path)
        return CalibrationSource(path, sha256_file(dataset.annotations_path), "all images",
                                 sorted(img.id for img in dataset.images))
    if card.training is None:
        raise InputError("the model card records no training dataset; pass --calibration-data DATASET",
                         path=model_dir)
    path = _resolve_dataset_path(card.training.data.dataset_path, model_dir)
    stand_in = None
    if not (path / "annotations.json").is_file():
        generated = _generated_training_world(card)
        if generated is None:
            raise InputError(f"the model's training dataset {card.training.data.dataset_path} is not here; "
                             f"pass --calibration-data DATASET", path=model_dir)
        path, stand_in = generated
    dataset = DetectionDataset.load(path)
    digest = sha256_file(dataset.annotations_path)
    if stand_in is None and digest != card.training.data.annotations_sha256:
        raise InputError(f"the training dataset changed since the model was trained (annotations sha256 "
                         f"{digest[:12]}, the card records {card.training.data.annotations_sha256[:12]}); "
                         f"pass --calibration-data DATASET", path=dataset.annotations_path)
    selector = card.training.data.train_split
    if selector.tag is None:
        ids = sorted(img.id for img in dataset.images)
    else:
        ids = sorted(select_images(dataset.coco, selector.tag, selector.values))
    split = selector.describe() if stand_in is None else f"{selector.describe()} of the {stand_in}"
    return CalibrationSource(path, digest, split, ids)


def calibration_tensor(card: ModelCard, model_dir: Path, settings: Int8ExportSettings,
                       batch: int) -> tuple[np.ndarray, CalibrationRecord]:
    """The calibration batch (rows a multiple of the graph's batch) and its record."""
    from gate.data.dataset import DetectionDataset

    source = calibration_source(card, model_dir, settings)
    if not source.image_ids:
        raise InputError(f"no calibration images: the dataset has no image in {source.split}",
                         path=source.dataset_path)
    count = min(settings.calibration_images, len(source.image_ids))
    rng = np.random.default_rng(settings.seed)
    chosen = sorted(int(i) for i in rng.choice(np.asarray(source.image_ids), size=count, replace=False))
    dataset = DetectionDataset.load(source.dataset_path)
    rows = []
    for loaded in dataset.iter_images(chosen):
        rows.append(preprocess([loaded.pixels], [loaded.info.id], card.preprocessing).pixel_values)
    tensor = np.ascontiguousarray(np.concatenate(rows), dtype=np.float32)
    if tensor.shape[0] < batch:
        raise InputError(f"calibration set of {tensor.shape[0]} input(s) is smaller than the model's batch of {batch}; "
                         f"raise --calibration-images or export with a smaller batch", path=source.dataset_path)
    # modelopt splits the set into equal batches: drop the rows that would make a partial one.
    tensor = tensor[: (tensor.shape[0] // batch) * batch]
    record = CalibrationRecord(
        dataset_path=str(source.dataset_path),
        annotations_sha256=source.annotations_sha256,
        split=source.split,
        selection=(f"numpy default_rng(seed).choice of {count} of the {len(source.image_ids)} eligible images "
                   f"without replacement, sorted by id; each preprocessed with the card's settings; rows cut "
                   f"to a multiple of the graph batch {batch}"),
        seed=settings.seed,
        requested_images=settings.calibration_images,
        available_images=len(source.image_ids),
        image_ids=chosen,
        tensor_shape=list(tensor.shape),
        tensor_dtype=tensor.dtype.name,
        tensor_sha256=sha256_bytes(tensor.tobytes()),
        method=settings.calibration_method,
    )
    return tensor, record


def count_qdq_nodes(path: Path) -> dict[str, int]:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {op: sum(1 for node in model.graph.node if node.op_type == op) for op in QDQ_OPS}


@contextlib.contextmanager
def _quiet_modelopt(log: io.StringIO):
    """Route modelopt's and ORT's chatter into `log`: progress bars, and the harmless "Failed to get GPU
    count" NVML error modelopt logs on hosts without a GPU (its calibration then runs on CPU as asked)."""
    modelopt_logger = logging.getLogger("modelopt.onnx")
    propagate = modelopt_logger.propagate
    try:
        # modelopt attaches its console handler to sys.stdout at call time, so this catches its log too.
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            yield
    finally:
        for handler in modelopt_logger.handlers[:]:
            if getattr(handler, "stream", None) is log:
                modelopt_logger.removeHandler(handler)
        modelopt_logger.propagate = propagate


def export_int8(model_dir: Path, card: ModelCard, settings: Int8ExportSettings, dest: Path, key: str,
                source: ExportRecord) -> ExportRecord:
    """Quantize the fp32 ONNX export `source` into `dest/model.int8.onnx` (explicit Q/DQ) and `dest/quantize.log`;
    return the (unstored) record."""
    started = time.perf_counter()
    input_name, batch = check_onnx_file(source.path, card)
    tensor, calibration = calibration_tensor(card, model_dir, settings, batch or 1)
    target = dest / INT8_EXPORT_FILE
    log = io.StringIO()
    # modelopt writes intermediate files beside its input: give it a private copy in a scratch folder.
    with tempfile.TemporaryDirectory(prefix="tsrgate-int8-") as scratch:
        work_input = Path(scratch) / "model.onnx"
        shutil.copyfile(source.path, work_input)
        work_output = Path(scratch) / INT8_EXPORT_FILE
        with _quiet_modelopt(log):
            from modelopt.onnx.quantization import quantize

            try:
                quantize(
                    str(work_input),
                    quantize_mode="int8",
                    calibration_data={input_name: tensor},
                    calibration_method=settings.calibration_method,
                    calibration_eps=["cpu"],
                    high_precision_dtype=settings.high_precision_dtype,
                    op_types_to_quantize=list(settings.quantize_op_types) or None,
                    output_path=str(work_output),
                    log_level="WARNING",
                )
            except Exception as exc:  # noqa: BLE001 - modelopt raises assertion/value errors of many kinds
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise InputError(f"INT8 quantization failed ({type(exc).__name__}: {first})", path=source.path) \
                    from None
        if not work_output.is_file():
            raise InputError("INT8 quantization wrote no output model", path=source.path)
        shutil.move(str(work_output), target)
    (dest / QUANTIZE_LOG).write_text(log.getvalue(), encoding="utf-8")
    check_onnx_file(target, card)
    qdq = count_qdq_nodes(target)
    if min(qdq.values()) == 0:
        raise InputError(f"quantization produced no Q/DQ pairs ({qdq})", path=target)
    import modelopt
    import onnx

    model = onnx.load(str(target), load_external_data=False)
    inputs, outputs = graph_io(model)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    libraries = {**source.libraries, **onnx_library_versions(), "nvidia-modelopt": modelopt.__version__}
    return ExportRecord(
        format="int8", file=INT8_EXPORT_FILE, sha256=sha256_file(target), bytes=target.stat().st_size,
        settings_key=key, settings=settings.model_dump(mode="json"), model_name=card.name,
        model_weights_sha256=card.weights.sha256,
        exporter=(f"modelopt.onnx.quantization.quantize(quantize_mode=int8, calibration_method="
                  f"{settings.calibration_method}, high_precision_dtype={settings.high_precision_dtype}, "
                  f"op_types_to_quantize={list(settings.quantize_op_types) or 'all'}, calibration_eps=[cpu])"),
        opset=int(opset), inputs=inputs, outputs=outputs, libraries=libraries, source_onnx_sha256=source.sha256,
        calibration=calibration, qdq_nodes=qdq, seconds=round(time.perf_counter() - started, 3),
    )
