"""The default executor: the backend already loaded in this process predicts the suite, batch by batch."""

from __future__ import annotations

from tqdm import tqdm

from gate.backends.detections import Detections
from gate.run.executors.base import PredictionJob
from gate.results.record import ExecutorRecord


def predict_suite(backend, suite, batch_size: int, progress: bool) -> list[Detections]:
    """The backend's detections for every suite image, in manifest order, with a progress bar.

    Batches are consecutive manifest images, `batch_size` at a time: the Ray executor cuts its shards
    on these same boundaries so that both compute exactly the same batches.
    """
    out: list[Detections] = []
    pixels, ids = [], []
    bar = tqdm(total=len(suite), desc=f"{suite.name} [{backend.name}]", unit="img", disable=not progress, leave=False)
    with bar:
        for loaded in suite.iter_images():
            pixels.append(loaded.pixels)
            ids.append(loaded.info.id)
            if len(ids) == batch_size:
                out.extend(backend.infer(pixels, ids))
                bar.update(len(ids))
                pixels, ids = [], []
        if ids:
            out.extend(backend.infer(pixels, ids))
            bar.update(len(ids))
    return out


class InProcessExecutor:
    """Predictions in this process, with the backend the runner loaded."""

    kind = "inprocess"

    def predict(self, job: PredictionJob, progress: bool) -> list[Detections]:
        return predict_suite(job.backend, job.suite, job.batch_size, progress)

    def close(self) -> None:
        """Nothing to release."""

    def record(self) -> ExecutorRecord:
        return ExecutorRecord(kind="inprocess", workers=1)
