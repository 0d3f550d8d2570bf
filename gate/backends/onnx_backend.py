"""`onnx`: the fp32 ONNX export run with ONNX Runtime (CPU; CUDA when asked for and present)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gate.backends.base import Backend
from gate.backends.exporter import ensure_export
from gate.backends.exports import ExportRecord
from gate.backends.postprocess import RawOutputs
from gate.errors import InputError
from gate.machine import cpu_model
from gate.results.backend import BackendDescription
from gate.storage import sha256_file


class OnnxBackend(Backend):
    """Runs an ONNX file of the model: its own (ingested ONNX), an explicit `onnx_path`, or the cached export."""

    name = "onnx"
    precision = "fp32"
    export_format = "onnx"

    def __init__(self, model_dir: str | Path, card=None, *, onnx_path: str | Path | None = None,
                 export_settings: Any = None, **options: Any):
        super().__init__(model_dir, card, **options)
        self.onnx_path = Path(onnx_path) if onnx_path is not None else None
        self.export_settings = export_settings
        self.export_record: ExportRecord | None = None
        self._session = None
        self._file: Path | None = None
        self._file_sha256: str | None = None
        self._input_name = ""
        self._batch: int | None = None
        self._outputs: tuple[str, str] = ("logits", "pred_boxes")

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            return "onnxruntime not installed"
        return None

    def _resolve_file(self) -> Path:
        if self.onnx_path is not None:
            return self.onnx_path
        if self.export_format == "onnx" and self.card.architecture.format == "onnx":
            return self.model_dir / self.card.weights.file
        self.export_record = ensure_export(self.model_dir, self.export_format, self.export_settings)
        return self.export_record.path

    def _providers(self) -> list[Any]:
        import onnxruntime as ort

        if self.device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            index = int(self.device.partition(":")[2] or 0)
            return [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"]
        return ["CPUExecutionProvider"]

    def _load(self) -> None:
        import onnxruntime as ort

        from gate.backends.onnx_export import check_onnx_file, graph_io

        path = self._resolve_file()
        if not path.is_file():
            raise InputError("ONNX file not found", path=path)
        input_name, batch = check_onnx_file(path, self.card)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        # Spinning worker threads burn CPU between runs; these machines are shared.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(str(path), options, providers=self._providers())
        except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"ONNX Runtime cannot load the model ({first})", path=path) from None
        import onnx

        _, outputs = graph_io(onnx.load(str(path), load_external_data=False))
        names = [o.name for o in outputs]
        self._outputs = (
            "logits" if "logits" in names else names[0],
            "pred_boxes" if "pred_boxes" in names else names[1],
        )
        self._input_name, self._batch = input_name, batch
        self._file = path
        self._file_sha256 = self.export_record.sha256 if self.export_record is not None else sha256_file(path)

    def forward(self, pixel_values: np.ndarray) -> RawOutputs:
        feed = np.ascontiguousarray(pixel_values, dtype=np.float32)
        rows = feed.shape[0]
        step = self._batch or rows
        logits, boxes = [], []
        for start in range(0, rows, step):
            chunk = feed[start : start + step]
            used = chunk.shape[0]
            if used < step:
                # The graph has a fixed batch: fill it with copies of the last row, whose outputs are dropped.
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], step - used, axis=0)])
            out_logits, out_boxes = self._session.run(list(self._outputs), {self._input_name: chunk})
            logits.append(out_logits[:used])
            boxes.append(out_boxes[:used])
        logits_all, boxes_all = np.concatenate(logits), np.concatenate(boxes)
        for name, values in zip(self._outputs, (logits_all, boxes_all), strict=True):
            if not np.isfinite(values).all():
                raise InputError(f"the model emitted NaN or inf in its {name} output", path=self._file)
        return RawOutputs(logits_all, boxes_all)

    def _details(self) -> dict[str, Any]:
        details: dict[str, Any] = {
            "onnx_file": str(self._file) if self._file else None,
            "onnx_sha256": self._file_sha256,
            "providers": self._session.get_providers() if self._session is not None else [],
            "graph_batch": self._batch,
        }
        if self.export_record is not None:
            record = self.export_record
            details.update({"exporter": record.exporter, "opset": record.opset, "export_settings": record.settings,
                            "export_settings_key": record.settings_key})
        return details

    def describe(self) -> BackendDescription:
        import onnx
        import onnxruntime

        providers = self._session.get_providers() if self._session is not None else self._providers()
        first = providers[0] if isinstance(providers[0], str) else providers[0][0]
        device = f"{self.device} (CUDAExecutionProvider)" if first == "CUDAExecutionProvider" else f"cpu ({cpu_model()})"
        return BackendDescription(
            name=self.name,
            precision=self.precision,
            device=device,
            threads=self.threads,
            libraries={"onnxruntime": onnxruntime.__version__, "onnx": onnx.__version__},
            model_sha256=self.card.weights.sha256,
            max_batch=self.max_batch,
            details=self._details(),
        )

    def close(self) -> None:
        self._session = None
        self._loaded = False
