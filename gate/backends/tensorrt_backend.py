"""`tensorrt` (FP16) and `tensorrt-int8`: engines built from the exported ONNX / the Q/DQ ONNX, run on CUDA.

TensorRT is the optional extra `tsrgate[trt]` and needs a CUDA device. Without either, the backends
report `unavailable_reason()` ("tensorrt not installed", "no CUDA device"); results show
`tensorrt: unavailable (<reason>)` and nothing is ever reported as run. Loading an unavailable
backend raises `BackendUnavailableError` with that reason.

Engine build (Python API, TensorRT 8.6-10.x): explicit-batch network from `OnnxParser`, a workspace
limit (`set_memory_pool_limit(WORKSPACE)`), one optimisation profile for the image input (min = opt =
max = the card's fixed shape: the legacy ONNX export has a fixed shape), a timing cache loaded from
and saved back to the cache folder, FP16 flag for `tensorrt`, INT8 flag for `tensorrt-int8` (the
scales come from the Q/DQ nodes; no calibrator). Engines are cached under
`<cache>/engines/<sha256 of ONNX hash, precision, TensorRT version, GPU name, workspace>/`.
Inference: torch CUDA tensors as device buffers, `set_input_shape`, `set_tensor_address`,
`execute_async_v3` on a torch CUDA stream, then stream synchronisation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from gate.backends.base import Backend
from gate.backends.exporter import ensure_export
from gate.backends.exports import ExportRecord
from gate.backends.postprocess import RawOutputs
from gate.errors import GateError, InputError
from gate.locations import cache_root
from gate.results.backend import BackendDescription
from gate.storage import atomic_write_bytes, atomic_write_json, canonical_json, sha256_bytes, sha256_file

DEFAULT_WORKSPACE_BYTES = 1 << 30
ENGINE_FILE = "model.engine"
ENGINE_RECORD = "engine.json"
TIMING_CACHE_FILE = "timing.cache"


class BackendUnavailableError(GateError):
    """A backend cannot run on this machine; the message is the reason shown in results."""


def tensorrt_unavailable_reason() -> str | None:
    """None when TensorRT can run here, else why not ("tensorrt not installed", "no CUDA device")."""
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return "tensorrt not installed"
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a core dependency
        return "torch not installed (needed for CUDA buffers)"
    if not torch.cuda.is_available():
        return "no CUDA device" if torch.version.cuda else "no CUDA device (torch is a CPU-only build)"
    return None


class EngineBuildPlan(BaseModel):
    """Everything that decides how an engine is built (the engine cache key is its hash plus the GPU)."""

    model_config = ConfigDict(extra="forbid")

    precision: Literal["fp16", "int8"]
    onnx_path: str
    onnx_sha256: str
    input_name: str
    min_shape: tuple[int, int, int, int]
    opt_shape: tuple[int, int, int, int]
    max_shape: tuple[int, int, int, int]
    workspace_bytes: int = Field(default=DEFAULT_WORKSPACE_BYTES, gt=0)
    timing_cache: str | None = None

    def key(self, tensorrt_version: str, device_name: str) -> str:
        payload = self.model_dump(mode="json", exclude={"onnx_path", "timing_cache"})
        payload.update({"tensorrt": tensorrt_version, "device": device_name})
        return sha256_bytes(canonical_json(payload))


def plan_engine_build(record: ExportRecord, precision: str, workspace_bytes: int = DEFAULT_WORKSPACE_BYTES,
                      timing_cache: str | Path | None = None) -> EngineBuildPlan:
    """The build plan for an exported ONNX: profile shapes from its fixed input shape."""
    image = record.inputs[0]
    dims = [d if isinstance(d, int) else None for d in image.shape]
    if None in dims:
        raise InputError(f"TensorRT build needs a fixed input shape, the ONNX input is {image.shape}",
                         path=record.path)
    shape = tuple(dims)
    return EngineBuildPlan(precision=precision, onnx_path=str(record.path), onnx_sha256=record.sha256,
                           input_name=image.name, min_shape=shape, opt_shape=shape, max_shape=shape,
                           workspace_bytes=workspace_bytes,
                           timing_cache=None if timing_cache is None else str(timing_cache))


def _major_version(trt) -> int:
    try:
        return int(str(trt.__version__).split(".")[0])
    except (AttributeError, ValueError):
        return 0


def network_flags(trt) -> int:
    """Explicit batch: a flag before TensorRT 10, the only mode (flag deprecated) from 10 on."""
    flag = getattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH", None)
    if flag is not None and _major_version(trt) < 10:
        return 1 << int(flag)
    return 0


def configure_builder(trt, builder, network, plan: EngineBuildPlan):
    """An IBuilderConfig for the plan: workspace, precision flags, input profile, timing cache."""
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, plan.workspace_bytes)
    if plan.precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    else:
        # Explicit quantization: Q/DQ nodes carry the scales; INT8 lets TensorRT run those layers in int8.
        # Everything else stays fp32, the precision the Q/DQ graph was validated in on ONNX Runtime.
        config.set_flag(trt.BuilderFlag.INT8)
    profile = builder.create_optimization_profile()
    profile.set_shape(plan.input_name, plan.min_shape, plan.opt_shape, plan.max_shape)
    config.add_optimization_profile(profile)
    cached = b""
    if plan.timing_cache and Path(plan.timing_cache).is_file():
        cached = Path(plan.timing_cache).read_bytes()
    timing_cache = config.create_timing_cache(cached)
    config.set_timing_cache(timing_cache, False)
    return config


def build_serialized_engine(trt, plan: EngineBuildPlan, logger=None) -> bytes:
    """Parse the ONNX, build the engine, save the (grown) timing cache; returns the serialized engine."""
    logger = logger if logger is not None else trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(network_flags(trt))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(plan.onnx_path):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        first = errors[0].splitlines()[0] if errors else "unknown parser error"
        raise InputError(f"TensorRT cannot parse the ONNX model ({first})", path=plan.onnx_path)
    config = configure_builder(trt, builder, network, plan)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise GateError(f"TensorRT {plan.precision} engine build failed (see the TensorRT log above)",
                        path=plan.onnx_path)
    if plan.timing_cache:
        atomic_write_bytes(plan.timing_cache, bytes(config.get_timing_cache().serialize()))
    return bytes(serialized)


def _torch_dtype(trt, dtype):
    import torch

    table = {"FLOAT": torch.float32, "HALF": torch.float16, "INT32": torch.int32, "INT64": torch.int64,
             "INT8": torch.int8, "BOOL": torch.bool, "UINT8": torch.uint8, "BF16": torch.bfloat16}
    for name, torch_dtype in table.items():
        if hasattr(trt.DataType, name) and dtype == getattr(trt.DataType, name):
            return torch_dtype
    raise GateError(f"TensorRT tensor dtype {dtype} is not supported by the tsrgate runner")


class TensorRTBackend(Backend):
    """FP16 engine from the fp32 ONNX export."""

    name = "tensorrt"
    precision = "fp16"
    source_format = "onnx"

    def __init__(self, model_dir: str | Path, card=None, *, export_settings: Any = None,
                 workspace_bytes: int = DEFAULT_WORKSPACE_BYTES, **options: Any):
        options.setdefault("device", "cuda:0")
        super().__init__(model_dir, card, **options)
        self.export_settings = export_settings
        self.workspace_bytes = workspace_bytes
        self.export_record: ExportRecord | None = None
        self.engine_dir: Path | None = None
        self._trt = None
        self._engine = None
        self._context = None
        self._stream = None
        self._inputs: list[str] = []
        self._outputs: list[str] = []
        self._batch = 1

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return tensorrt_unavailable_reason()

    def _export(self) -> ExportRecord:
        settings = self.export_settings
        if self.source_format == "int8":
            return ensure_export(self.model_dir, "int8", settings)
        return ensure_export(self.model_dir, "onnx", settings)

    def _engine_bytes(self, trt, plan: EngineBuildPlan, device_name: str) -> bytes:
        folder = cache_root() / "engines" / plan.key(trt.__version__, device_name)[:24]
        engine_path = folder / ENGINE_FILE
        record_path = folder / ENGINE_RECORD
        if engine_path.is_file() and record_path.is_file():
            stored = json.loads(record_path.read_text(encoding="utf-8"))
            if stored.get("engine_sha256") == sha256_file(engine_path):
                self.engine_dir = folder
                return engine_path.read_bytes()
        data = build_serialized_engine(trt, plan, trt.Logger(trt.Logger.WARNING))
        atomic_write_bytes(engine_path, data)
        atomic_write_json(record_path, {"plan": plan.model_dump(mode="json"), "tensorrt": trt.__version__,
                                        "device": device_name, "engine_sha256": sha256_bytes(data)})
        self.engine_dir = folder
        return data

    def _load(self) -> None:
        reason = self.unavailable_reason()
        if reason is not None:
            raise BackendUnavailableError(f"{self.name}: unavailable ({reason})", path=self.model_dir)
        import tensorrt as trt
        import torch

        device = torch.device(self.device)
        torch.cuda.set_device(device)
        self.export_record = self._export()
        timing_cache = cache_root() / "engines" / TIMING_CACHE_FILE
        plan = plan_engine_build(self.export_record, self.precision, self.workspace_bytes, timing_cache)
        data = self._engine_bytes(trt, plan, torch.cuda.get_device_name(device))
        logger = trt.Logger(trt.Logger.WARNING)
        runtime = trt.Runtime(logger)
        engine = runtime.deserialize_cuda_engine(data)
        if engine is None:
            raise GateError("TensorRT could not deserialize the engine", path=self.engine_dir)
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        self._inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self._outputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if len(self._inputs) != 1 or not {"logits", "pred_boxes"} <= set(self._outputs):
            raise InputError(f"engine I/O {names} is not (image) -> (logits, pred_boxes)", path=self.engine_dir)
        self._batch = plan.opt_shape[0]
        self._trt, self._engine = trt, engine
        self._context = engine.create_execution_context()
        self._stream = torch.cuda.Stream(device=device)
        self._runtime = runtime  # the engine must not outlive its runtime

    def synchronize(self) -> None:
        if self._stream is not None:
            self._stream.synchronize()

    def forward(self, pixel_values: np.ndarray) -> RawOutputs:
        import torch

        trt, engine, context = self._trt, self._engine, self._context
        rows, step = pixel_values.shape[0], self._batch
        logits, boxes = [], []
        for start in range(0, rows, step):
            chunk = np.ascontiguousarray(pixel_values[start : start + step], dtype=np.float32)
            used = chunk.shape[0]
            if used < step:
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], step - used, axis=0)])
            with torch.cuda.stream(self._stream):
                image = torch.from_numpy(chunk).to(self.device, non_blocking=False)
                context.set_input_shape(self._inputs[0], tuple(image.shape))
                context.set_tensor_address(self._inputs[0], image.data_ptr())
                outputs = {}
                for name in self._outputs:
                    shape = tuple(context.get_tensor_shape(name))
                    outputs[name] = torch.empty(shape, dtype=_torch_dtype(trt, engine.get_tensor_dtype(name)),
                                                device=self.device)
                    context.set_tensor_address(name, outputs[name].data_ptr())
                if not context.execute_async_v3(self._stream.cuda_stream):
                    raise GateError("TensorRT execute_async_v3 failed", path=self.engine_dir)
            self._stream.synchronize()
            logits.append(outputs["logits"].float().cpu().numpy()[:used])
            boxes.append(outputs["pred_boxes"].float().cpu().numpy()[:used])
        logits_all, boxes_all = np.concatenate(logits), np.concatenate(boxes)
        if not (np.isfinite(logits_all).all() and np.isfinite(boxes_all).all()):
            raise InputError("the engine emitted NaN or inf", path=self.engine_dir)
        return RawOutputs(logits_all, boxes_all)

    def describe(self) -> BackendDescription:
        reason = self.unavailable_reason()
        libraries: dict[str, str] = {}
        device = self.device
        if reason is None:
            import tensorrt as trt
            import torch

            libraries = {"tensorrt": trt.__version__, "torch": torch.__version__, "cuda": str(torch.version.cuda)}
            device = f"{self.device} ({torch.cuda.get_device_name(torch.device(self.device))})"
        details: dict[str, Any] = {"status": "available" if reason is None else f"unavailable ({reason})",
                                   "workspace_bytes": self.workspace_bytes}
        if self.export_record is not None:
            details.update({"onnx_sha256": self.export_record.sha256, "export_format": self.export_record.format})
        if self.engine_dir is not None:
            details["engine_dir"] = str(self.engine_dir)
        return BackendDescription(name=self.name, precision=self.precision, device=device, threads=None,
                                  libraries=libraries, model_sha256=self.card.weights.sha256,
                                  max_batch=self.max_batch, details=details)

    def close(self) -> None:
        self._context = None
        self._engine = None
        self._stream = None
        self._loaded = False


class TensorRTInt8Backend(TensorRTBackend):
    """INT8 engine from the Model Optimizer Q/DQ ONNX (explicit quantization)."""

    name = "tensorrt-int8"
    precision = "int8"
    source_format = "int8"
