"""`int8`: the Model Optimizer Q/DQ ONNX run with ONNX Runtime on CPU.

On CPU the Q/DQ graph checks INT8 accuracy, not INT8 speed: ORT runs it 1.5-1.8x slower than the
fp32 graph; the speed comes from TensorRT (`tensorrt-int8`), which builds from this same file.
"""

from __future__ import annotations

from typing import Any

from gate.backends.onnx_backend import OnnxBackend


class Int8Backend(OnnxBackend):
    name = "int8"
    precision = "int8"
    export_format = "int8"

    def _providers(self) -> list[Any]:
        return ["CPUExecutionProvider"]

    def _details(self) -> dict[str, Any]:
        details = super()._details()
        record = self.export_record
        if record is not None:
            details["qdq_nodes"] = record.qdq_nodes
            details["source_onnx_sha256"] = record.source_onnx_sha256
            if record.calibration is not None:
                details["calibration"] = {
                    "images": len(record.calibration.image_ids),
                    "method": record.calibration.method,
                    "tensor_sha256": record.calibration.tensor_sha256,
                    "dataset_path": record.calibration.dataset_path,
                }
        return details
