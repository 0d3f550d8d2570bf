"""Generation speed of the sign world: renders a world into a temporary folder and times it.

    .venv/bin/python bench/synth_speed.py                       # 1,000 images, seed 0, default workers
    .venv/bin/python bench/synth_speed.py --images 200 --workers 1

Prints images per second, total seconds and the world's size on disk. The target (issue 2) is
1,000 images in under two minutes on two cores. Timings are wall-clock on whatever else the machine
is doing at the time; the files written do not depend on the worker count.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gate.data.synth import WORLD_VERSION, generate_world  # noqa: E402
from gate.data.synth.world import default_workers  # noqa: E402
from gate.storage import sha256_file  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None, help="default: the generator's own choice")
    args = parser.parse_args()
    workers = args.workers or default_workers(args.images)
    with tempfile.TemporaryDirectory(prefix="tsrgate-synth-bench-") as tmp:
        out = Path(tmp) / "world"
        start = time.perf_counter()
        generate_world(out, args.images, args.seed, workers=workers)
        seconds = time.perf_counter() - start
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        digest = sha256_file(out / "annotations.json")
    print(f"world version {WORLD_VERSION}, seed {args.seed}, {args.images} images, {workers} workers "
          f"({os.cpu_count()} CPUs visible)")
    print(f"total {seconds:.1f} s, {args.images / seconds:.1f} images/s, {size / 1e6:.1f} MB on disk")
    print(f"annotations sha256 {digest}")


if __name__ == "__main__":
    main()
