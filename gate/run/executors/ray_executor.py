"""`--executor ray`: a suite's images predicted in shards by Ray tasks, gathered in manifest order.

Without an address a local Ray instance is started for the run, sized to this machine (one worker per
`threads` CPUs) and shut down before latency is measured; with an address the run joins that cluster
and leaves it running. Each shard is a Ray task on whole runner batches (see `plan_shards`), so the
gathered detections are the in-process ones, number for number. Worker processes keep their loaded
backend between tasks (`ray_worker.loaded_backend`): the model is loaded once per worker and backend.

Failures use Ray's own task retries: a worker that dies mid-shard (killed, out of memory, node lost)
or a transient I/O error re-runs the shard, up to `max_retries` more times. A shard that still fails,
or fails with a deterministic error (a file that does not match its hash), fails the whole run with a
ShardFailedError naming the suite, the backend and the shard's image ids: never a smaller suite.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from tqdm import tqdm

from gate.backends.detections import Detections
from gate.machine import cpu_count
from gate.errors import InputError
from gate.run.executors.base import PredictionJob, Shard, ShardFailedError, default_shard_images, plan_shards
from gate.run.executors.ray_worker import ShardTask, WorkerBackendSpec, WorkerCrash, predict_shard
from gate.results.record import ExecutorRecord

# Errors worth another attempt: a shared filesystem hiccup, memory pressure on a busy node. Worker and
# node deaths are always retried by Ray (up to max_retries); anything else would fail the same way again.
RETRIED_EXCEPTIONS: tuple[type[BaseException], ...] = (OSError, MemoryError)
DEFAULT_RETRIES = 2
LOCAL_OBJECT_STORE_BYTES = 256 * 1024**2  # detections are small; Ray's default (30 % of RAM) is not needed
RAY_EXTRA_HINT = "install it with: pip install 'tsrgate[ray]'"


def ray_missing_reason() -> str | None:
    """None when Ray can be imported here, else why not (for errors and test skips)."""
    try:
        import ray  # noqa: F401
    except ImportError as exc:
        return f"Ray is not installed ({exc}); {RAY_EXTRA_HINT}"
    return None


class RayExecutor:
    """Predictions sharded across Ray workers; see the module docstring."""

    kind = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None, shard_images: int | None = None,
                 max_retries: int = DEFAULT_RETRIES, crash: WorkerCrash | None = None,
                 log: Callable[[str], None] = lambda _msg: None):
        if workers is not None and workers < 1:
            raise InputError(f"--workers must be at least 1, got {workers}")
        if shard_images is not None and shard_images < 1:
            raise InputError(f"shard size must be at least 1 image, got {shard_images}")
        if max_retries < 0:
            raise InputError(f"retries must be 0 or more, got {max_retries}")
        reason = ray_missing_reason()
        if reason is not None:
            raise InputError(f"--executor ray: {reason}")
        self.address = address
        self.workers = workers
        self.shard_images = shard_images
        self.max_retries = max_retries
        self.crash = crash  # tests only: a worker that dies mid-shard (see WorkerCrash)
        self.log = log
        self._ray = None
        self._owns_connection = False
        self._running_workers = 0
        self._shards = 0
        self._largest_shard = 0
        self._hosts: set[str] = set()

    # -- connection -------------------------------------------------------------------------------------

    def _connect(self, threads: int):
        import ray

        if self._ray is not None:
            return self._ray
        if ray.is_initialized():
            # Someone in this process (a notebook, a test session) already holds a Ray connection: use it, leave it.
            self.address = self.address or "existing connection"
        elif self.address is None:
            workers = self.workers or max(1, cpu_count() // threads)
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            self.log(f"ray: starting a local instance with {workers} worker(s) x {threads} thread(s)")
            ray.init(address="local", num_cpus=workers * threads, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.WARNING, object_store_memory=LOCAL_OBJECT_STORE_BYTES)
            self._owns_connection = True
            self.address = "local"
        else:
            self.log(f"ray: joining the cluster at {self.address}")
            try:
                ray.init(address=self.address, log_to_driver=False, logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise InputError(f"cannot join the Ray cluster at {self.address}: {str(exc).splitlines()[0]}") from None
            self._owns_connection = True
        cpus = int(ray.cluster_resources().get("CPU", 0))
        self._running_workers = self.workers or max(1, cpus // threads)
        self._ray = ray
        return ray

    def close(self) -> None:
        """Shut down the local instance (or disconnect from the cluster) this executor started."""
        if self._ray is not None and self._owns_connection:
            self._ray.shutdown()
        self._ray = None
        self._owns_connection = False

    # -- predictions ------------------------------------------------------------------------------------

    def predict(self, job: PredictionJob, progress: bool) -> list[Detections]:
        backend, suite = job.backend, job.suite
        ray = self._connect(backend.threads)
        ids = [image.id for image in suite.coco.images]
        size = self.shard_images or default_shard_images(len(ids), job.batch_size, self._running_workers)
        shards = plan_shards(ids, job.batch_size, size)
        if not shards:
            return []
        spec = WorkerBackendSpec(
            name=backend.name, model_dir=str(job.model_dir.resolve()), threads=backend.threads,
            max_batch=backend.max_batch, card_sha256=job.card_sha256, weights_sha256=job.weights_sha256,
            model_file_sha256=job.model_file_sha256, cache_root=str(_exports_cache_root()),
        )
        pixel_hashes = {entry.id: entry.pixels_sha256 for entry in suite.manifest.images}
        remote = ray.remote(predict_shard).options(
            num_cpus=backend.threads, max_retries=self.max_retries, retry_exceptions=list(RETRIED_EXCEPTIONS),
        )
        queue = list(shards)
        pending: dict[object, Shard] = {}
        gathered: dict[int, list[Detections]] = {}
        bar = tqdm(total=len(ids), desc=f"{job.label} ray", unit="img", disable=not progress, leave=False)
        with bar:
            try:
                while queue or pending:
                    # At most one shard per worker in flight: shards are taken in order as workers free up.
                    while queue and len(pending) < self._running_workers:
                        shard = queue.pop(0)
                        task = ShardTask(
                            suite=suite.name, index=shard.index, image_ids=shard.image_ids,
                            paths=tuple(str(suite.image_path(i)) for i in shard.image_ids),
                            pixels_sha256=tuple(pixel_hashes[i] for i in shard.image_ids), batch_size=job.batch_size,
                        )
                        pending[remote.remote(spec, task, self.crash)] = shard
                    done, _ = ray.wait(list(pending), num_returns=1)
                    for ref in done:
                        shard = pending.pop(ref)
                        gathered[shard.index] = self._collect(ray, ref, shard, job)
                        bar.update(len(shard.image_ids))
            finally:
                for ref in pending:
                    ray.cancel(ref, force=True)
        self._shards += len(shards)
        self._largest_shard = max(self._largest_shard, max(len(s.image_ids) for s in shards))
        return [det for shard in shards for det in gathered[shard.index]]

    def _collect(self, ray, ref, shard: Shard, job: PredictionJob) -> list[Detections]:
        """One finished shard's detections, checked to be exactly its images in order."""
        try:
            result = ray.get(ref)
        except ray.exceptions.RayError as exc:
            raise ShardFailedError(f"{job.label}: {shard.describe()} {_failure(exc, self.max_retries)}") from None
        returned = tuple(det.image_id for det in result.detections)
        if returned != shard.image_ids:
            raise ShardFailedError(f"{job.label}: {shard.describe()} came back with detections for "
                                   f"{len(returned)} images, not its own {len(shard.image_ids)} in order")
        self._hosts.add(result.host)
        return result.detections

    def record(self) -> ExecutorRecord:
        import ray

        return ExecutorRecord(
            kind="ray", workers=self._running_workers or self.workers or 0, address=self.address or "local",
            shard_images=self._largest_shard or self.shard_images, shards=self._shards, max_retries=self.max_retries,
            ray_version=ray.__version__, hosts=sorted(self._hosts),
        )


def _exports_cache_root():
    from gate.locations import cache_root

    return cache_root()


def _failure(exc: BaseException, max_retries: int) -> str:
    """How a shard failed, in one line: the worker's own error where there is one, with the attempts made."""
    cause = getattr(exc, "cause", None)
    reason = cause if isinstance(cause, BaseException) else exc
    text = (str(reason).strip().splitlines() or [type(reason).__name__])[0]
    if cause is not None and not isinstance(cause, RETRIED_EXCEPTIONS):
        return f"failed on its first attempt with an error a retry would repeat: {type(cause).__name__}: {text}"
    return f"failed after {max_retries + 1} attempt(s) (Ray retried it {max_retries} time(s)): {text}"
