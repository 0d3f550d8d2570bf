"""Facts about the machine a number was measured on (recorded next to every latency and backend result)."""

from __future__ import annotations

import functools
import platform
from pathlib import Path


@functools.cache
def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what `platform` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "cpu model") and value.strip():
                return value.strip()
    return platform.processor() or platform.machine() or "unknown"


def cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def fork_map(function, items: list, workers: int) -> list:
    """`[function(item) for item in items]` in up to `workers` forked processes, in order.

    Fork, as PyTorch's DataLoader does: workers inherit the caller's memory (nothing but the items and
    results is pickled), start without imports, and need no `__main__` guard in a caller's script. One
    worker, one item, or a platform without fork: in this process."""
    import multiprocessing

    workers = max(1, min(workers, len(items)))
    if workers == 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [function(item) for item in items]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(function, items))
