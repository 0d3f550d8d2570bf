"""Run a backend over a dataset's images: the predictions stage of the pipeline."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from gate.backends.base import Backend
from gate.backends.detections import Detections
from gate.data.dataset import DetectionDataset, LoadedImage


def predict_batches(backend: Backend, images: Iterable[LoadedImage], batch_size: int) -> Iterator[Detections]:
    """Detections per image, in the given order, `batch_size` consecutive images per backend call."""
    pending_pixels, pending_ids = [], []
    for loaded in images:
        pending_pixels.append(loaded.pixels)
        pending_ids.append(loaded.info.id)
        if len(pending_ids) == batch_size:
            yield from backend.infer(pending_pixels, pending_ids)
            pending_pixels, pending_ids = [], []
    if pending_ids:
        yield from backend.infer(pending_pixels, pending_ids)


def iter_predictions(
    backend: Backend, dataset: DetectionDataset, image_ids: Sequence[int] | None = None, batch_size: int = 4
) -> Iterator[Detections]:
    """Detections per image, streamed in batches of `batch_size` source images (dataset order by default)."""
    ids = [img.id for img in dataset.images] if image_ids is None else list(image_ids)
    yield from predict_batches(backend, dataset.iter_images(ids), batch_size)


def predict_suite(backend: Backend, suite, batch_size: int, progress: bool) -> list[Detections]:
    """The backend's detections for every suite image, in manifest order, with a progress bar.

    Batches are consecutive manifest images, `batch_size` at a time: the Ray executor cuts its shards
    on these same boundaries so that both compute exactly the same batches.
    """
    from tqdm import tqdm

    stream = predict_batches(backend, suite.iter_images(), batch_size)
    return list(tqdm(stream, total=len(suite), desc=f"{suite.name} [{backend.name}]", unit="img",
                     disable=not progress, leave=False))


def predict_dataset(
    backend: Backend, dataset: DetectionDataset, image_ids: Sequence[int] | None = None, batch_size: int = 4,
    progress: bool = False,
) -> list[Detections]:
    """All detections of a dataset (or of `image_ids`) as a list, optionally with a progress bar."""
    from tqdm import tqdm

    total = len(dataset) if image_ids is None else len(image_ids)
    stream = iter_predictions(backend, dataset, image_ids, batch_size)
    return list(tqdm(stream, total=total, desc=f"predict [{backend.name}]", disable=not progress, leave=False))
