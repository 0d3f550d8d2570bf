"""The backend protocol: one small life cycle (load, forward, describe) behind every runtime.

A backend implements only what differs between runtimes: `load` (read the model file, pick the
device and threads), `forward` (a float batch in, raw logits and boxes out) and `describe`.
Preprocessing and postprocessing are not the backend's business: `infer` always goes through the
shared `gate.backends.preprocess` and `gate.backends.postprocess`, driven by the model card, so two
backends of one model can only differ in what their runtimes compute.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from gate.backends.detections import Detections
from gate.backends.postprocess import RawOutputs, postprocess
from gate.backends.preprocess import PreparedBatch, preprocess
from gate.results.backend import BackendDescription
from gate.cards.card import ModelCard, PostprocessingSpec, PreprocessingSpec, load_card


def default_threads() -> int:
    """Threads a backend uses when not told: $TSRGATE_THREADS, else 1 (machines here are shared)."""
    return int(os.environ.get("TSRGATE_THREADS", "1"))


class Backend(abc.ABC):
    """One deployment form of a model. Subclasses set `name` and `precision` and implement the abstract methods."""

    name: ClassVar[str]
    precision: ClassVar[str] = "fp32"

    def __init__(
        self,
        model_dir: str | Path,
        card: ModelCard | None = None,
        *,
        threads: int | None = None,
        device: str = "cpu",
        max_batch: int = 8,
        preprocessing: PreprocessingSpec | None = None,
        postprocessing: PostprocessingSpec | None = None,
    ):
        self.model_dir = Path(model_dir)
        self.card = card if card is not None else load_card(self.model_dir, verify_weights=False)
        self.threads = threads if threads is not None else default_threads()
        self.device = device
        self.max_batch = max(1, int(max_batch))
        # Overrides exist for probes and tests that plant a mismatch; production uses the card's.
        self.preprocessing = preprocessing if preprocessing is not None else self.card.preprocessing
        self.postprocessing = postprocessing if postprocessing is not None else self.card.postprocessing
        self._loaded = False

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """None when this backend can run on this machine, else the reason it cannot (shown in results)."""
        return None

    @abc.abstractmethod
    def _load(self) -> None:
        """Read the model and prepare the runtime (called once, by `load`)."""

    @abc.abstractmethod
    def forward(self, pixel_values: np.ndarray) -> RawOutputs:
        """Run the model on a (T, 3, H, W) batch of at most `max_batch` rows."""

    @abc.abstractmethod
    def describe(self) -> BackendDescription:
        """Name, precision, device, threads and library versions of this backend."""

    def load(self) -> Backend:
        if not self._loaded:
            self._load()
            self._loaded = True
        return self

    def prepare(self, images: Sequence[np.ndarray], image_ids: Sequence[int]) -> PreparedBatch:
        """The exact input batch this backend feeds its runtime (what the parity probe hashes)."""
        return preprocess(images, image_ids, self.preprocessing)

    def run_prepared(self, batch: PreparedBatch) -> RawOutputs:
        """Forward a prepared batch in chunks of `max_batch` rows."""
        self.load()
        rows = batch.pixel_values.shape[0]
        parts = [self.forward(batch.pixel_values[i : i + self.max_batch]) for i in range(0, rows, self.max_batch)]
        return RawOutputs.concatenate(parts)

    def infer(self, images: Sequence[np.ndarray], image_ids: Sequence[int]) -> list[Detections]:
        """Detections for a batch of RGB uint8 source images, boxes in source pixels."""
        batch = self.prepare(images, image_ids)
        return postprocess(self.run_prepared(batch), batch, self.postprocessing)

    def close(self) -> None:
        """Release runtime resources (sessions, engines); the default has none."""

    def __enter__(self) -> Backend:
        return self.load()

    def __exit__(self, *exc: object) -> None:
        self.close()
