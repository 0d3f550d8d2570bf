"""Who computes a run's predictions: this process (default) or Ray workers (`--executor ray`).

The runner hands an executor one backend-on-suite job at a time and evaluates what it gathers with
the same code either way; see `base` for the contract that keeps the numbers identical.
"""

from __future__ import annotations

from collections.abc import Callable

from gate.errors import InputError
from gate.run.executors.base import (
    PredictionExecutor,
    PredictionJob,
    Shard,
    ShardFailedError,
    default_shard_images,
    plan_shards,
)
from gate.run.executors.inprocess import InProcessExecutor, predict_suite

EXECUTOR_KINDS = ("inprocess", "ray")


def make_executor(kind: str = "inprocess", *, address: str | None = None, workers: int | None = None,
                  shard_images: int | None = None, log: Callable[[str], None] = lambda _msg: None) -> PredictionExecutor:
    """The executor `tsrgate run --executor KIND` uses; Ray-only options with the in-process one are an InputError."""
    if kind == "inprocess":
        given = [name for name, value in (("--address", address), ("--workers", workers),
                                          ("--shard-images", shard_images)) if value is not None]
        if given:
            raise InputError(f"{', '.join(given)} only apply with --executor ray")
        return InProcessExecutor()
    if kind == "ray":
        from gate.run.executors.ray_executor import RayExecutor

        return RayExecutor(address=address, workers=workers, shard_images=shard_images, log=log)
    raise InputError(f"unknown executor {kind!r}; expected one of {', '.join(EXECUTOR_KINDS)}")


__all__ = [
    "EXECUTOR_KINDS",
    "InProcessExecutor",
    "PredictionExecutor",
    "PredictionJob",
    "Shard",
    "ShardFailedError",
    "default_shard_images",
    "make_executor",
    "plan_shards",
    "predict_suite",
]
