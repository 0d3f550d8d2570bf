"""Wall time per stage of the gate's own work (suite render, export, predict per backend, evaluate,
bootstrap, latency, report), summed over the process: what `bench/gate_time.py` prints.

Stages are timed where the work happens (`with stage("bootstrap"): ...`); the totals are kept in
this process and, when `$TSRGATE_STAGE_TIMES` names a file, written there as JSON by the command
that ran them (`tsrgate demo`). Timing never changes what a stage computes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

STAGE_TIMES_ENV = "TSRGATE_STAGE_TIMES"

_totals: dict[str, float] = {}
_active: list[str] = []


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Add the block's wall time to stage `name`. A stage inside another of the same name counts once."""
    if name in _active:
        yield
        return
    _active.append(name)
    start = time.perf_counter()
    try:
        yield
    finally:
        _totals[name] = _totals.get(name, 0.0) + time.perf_counter() - start
        _active.remove(name)


def stage_times() -> dict[str, float]:
    return dict(_totals)


def reset_stage_times() -> None:
    _totals.clear()


def write_stage_times(extra: dict[str, float] | None = None) -> None:
    """Write the totals (and `extra`, e.g. the whole command's time) to `$TSRGATE_STAGE_TIMES`, if set."""
    path = os.environ.get(STAGE_TIMES_ENV)
    if not path:
        return
    from gate.storage import atomic_write_json

    atomic_write_json(path, {"stages": stage_times(), **(extra or {})})


def timed(name: str):
    """Decorator: the function's calls count toward stage `name`."""
    import functools

    def wrap(function):
        @functools.wraps(function)
        def inner(*args, **kwargs):
            with stage(name):
                return function(*args, **kwargs)

        return inner

    return wrap
