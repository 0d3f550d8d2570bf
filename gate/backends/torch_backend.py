"""`torch`: eager PyTorch on CPU (or CUDA), fp32, `inference_mode`, batched. The reference backend."""

from __future__ import annotations

import platform

import numpy as np

from gate.backends.base import Backend
from gate.backends.postprocess import RawOutputs
from gate.errors import InputError
from gate.results.backend import BackendDescription


class TorchBackend(Backend):
    name = "torch"
    precision = "fp32"

    _model = None

    @classmethod
    def from_model(cls, model, card, model_dir=".", **options) -> TorchBackend:
        """Wrap an in-memory model (the training loop evaluates this way, through the same pipeline)."""
        backend = cls(model_dir, card, **options)
        backend._model = model
        backend._loaded = True
        return backend

    def _load(self) -> None:
        import torch

        from gate.cards.rtdetr import load_detector

        if self.card.architecture.format != "safetensors":
            raise InputError(f"the torch backend needs safetensors weights, got {self.card.architecture.format}",
                             path=self.model_dir)
        torch.set_num_threads(self.threads)
        _, model = load_detector(self.model_dir, self.card)
        self._model = model.to(self.device)

    def forward(self, pixel_values: np.ndarray) -> RawOutputs:
        import torch

        model = self._model
        was_training = model.training
        model.eval()
        try:
            with torch.inference_mode():
                inputs = torch.from_numpy(np.ascontiguousarray(pixel_values, dtype=np.float32)).to(self.device)
                outputs = model(pixel_values=inputs)
                return RawOutputs(outputs.logits.float().cpu().numpy(), outputs.pred_boxes.float().cpu().numpy())
        finally:
            model.train(was_training)

    def describe(self) -> BackendDescription:
        import torch
        import transformers

        device = self.device
        if device.startswith("cuda") and torch.cuda.is_available():
            device = f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
        else:
            device = f"cpu ({platform.processor() or platform.machine()})"
        return BackendDescription(
            name=self.name,
            precision=self.precision,
            device=device,
            threads=torch.get_num_threads(),
            libraries={"torch": torch.__version__, "transformers": transformers.__version__},
            model_sha256=self.card.weights.sha256,
            max_batch=self.max_batch,
        )
