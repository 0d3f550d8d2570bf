"""Run a backend over a dataset's images: the predictions stage of the pipeline."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from gate.backends.base import Backend
from gate.backends.detections import Detections
from gate.data.dataset import DetectionDataset


def iter_predictions(
    backend: Backend, dataset: DetectionDataset, image_ids: Sequence[int] | None = None, batch_size: int = 4
) -> Iterator[Detections]:
    """Detections per image, streamed in batches of `batch_size` source images (dataset order by default)."""
    ids = [img.id for img in dataset.images] if image_ids is None else list(image_ids)
    pending_pixels, pending_ids = [], []
    for loaded in dataset.iter_images(ids):
        pending_pixels.append(loaded.pixels)
        pending_ids.append(loaded.info.id)
        if len(pending_ids) == batch_size:
            yield from backend.infer(pending_pixels, pending_ids)
            pending_pixels, pending_ids = [], []
    if pending_ids:
        yield from backend.infer(pending_pixels, pending_ids)


def predict_dataset(
    backend: Backend, dataset: DetectionDataset, image_ids: Sequence[int] | None = None, batch_size: int = 4,
    progress: bool = False,
) -> list[Detections]:
    """All detections of a dataset (or of `image_ids`) as a list, optionally with a progress bar."""
    from tqdm import tqdm

    total = len(dataset) if image_ids is None else len(image_ids)
    stream = iter_predictions(backend, dataset, image_ids, batch_size)
    return list(tqdm(stream, total=total, desc=f"predict [{backend.name}]", disable=not progress, leave=False))
