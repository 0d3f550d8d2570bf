"""The default executor: the backend already loaded in this process predicts the suite, batch by batch."""

from __future__ import annotations

from gate.backends.detections import Detections
from gate.backends.predict import predict_suite
from gate.run.executors.base import PredictionJob
from gate.results.record import ExecutorRecord


class InProcessExecutor:
    """Predictions in this process, with the backend the runner loaded."""

    kind = "inprocess"

    def predict(self, job: PredictionJob, progress: bool) -> list[Detections]:
        return predict_suite(job.backend, job.suite, job.batch_size, progress)

    def close(self) -> None:
        """Nothing to release."""

    def record(self) -> ExecutorRecord:
        return ExecutorRecord(kind="inprocess", workers=1)
