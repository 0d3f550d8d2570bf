"""Prediction throughput of one suite in-process and on 1, 2, ... local Ray workers (`--executor ray`).

    .venv/bin/python bench/scale.py                                  # gtsdb-v1 on gtsdb-small, 1 and 2 workers
    .venv/bin/python bench/scale.py --suite gtsdb-clean --workers 1,2,4 --backend onnx

For each worker count a local Ray instance is started, the suite is predicted once cold (worker
processes start and load the model) and once warm (workers keep their loaded backend); images per
second are reported for the warm pass, with the cold seconds beside them. Every pass's detections
are checked to equal the in-process ones. Only the prediction step is timed: evaluation runs in the
driver either way. Timings are wall-clock on whatever else the machine is doing; a machine with N
cores cannot go beyond about N workers x the one-worker rate (minus Ray's own processes).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gate.backends import create_backend  # noqa: E402
from gate.machine import cpu_count  # noqa: E402
from gate.run.executors import InProcessExecutor, PredictionJob  # noqa: E402
from gate.run.executors.ray_executor import RayExecutor  # noqa: E402
from gate.run.runner import model_provenance  # noqa: E402
from gate.suites import open_suite  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _timed(executor, job: PredictionJob):
    start = time.perf_counter()
    detections = executor.predict(job, progress=False)
    return time.perf_counter() - start, detections


def _same(a, b) -> bool:
    return len(a) == len(b) and all(x.equals(y) for x, y in zip(a, b, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "models" / "gtsdb-v1")
    parser.add_argument("--suite", default="gtsdb-small")
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--shard-images", type=int, default=None, help="default: about four shards per worker")
    parser.add_argument("--cache", type=Path, default=None, help="suite cache (default: $TSRGATE_CACHE or user cache)")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]

    card, model = model_provenance(args.model)
    suite = open_suite(args.suite, cache=args.cache)
    backend = create_backend(args.backend, args.model, card=card, threads=1, max_batch=args.batch_size).load()
    job = PredictionJob(backend=backend, suite=suite, batch_size=args.batch_size, model_dir=args.model,
                        card_sha256=model.card_sha256, weights_sha256=model.weights_sha256,
                        model_file_sha256=backend.describe().model_sha256)
    images = len(suite)
    print(f"{model.name} ({args.backend}, 1 thread per worker, batch {args.batch_size}) on {suite.name} "
          f"v{suite.version}: {images} images; {cpu_count()} CPUs usable here, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    seconds, reference = _timed(InProcessExecutor(), job)
    print(f"  in-process   {images / seconds:7.2f} images/s  ({seconds:.1f} s)")
    for workers in counts:
        executor = RayExecutor(workers=workers, shard_images=args.shard_images)
        try:
            start = time.perf_counter()
            cold, first = _timed(executor, job)  # includes starting Ray, worker processes and model loads
            cold = time.perf_counter() - start
            warm, second = _timed(executor, job)
        finally:
            executor.close()
        record = executor.record()
        identical = _same(first, reference) and _same(second, reference)
        print(f"  ray x{workers:<2}       {images / warm:7.2f} images/s  ({warm:.1f} s warm; cold pass {cold:.1f} s "
              f"with Ray start-up and model loads; {record.shards // 2} shards of up to {record.shard_images}; "
              f"detections identical to in-process: {'yes' if identical else 'NO'})")
    backend.close()


if __name__ == "__main__":
    main()
