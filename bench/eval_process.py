"""`tsrgate eval GT DT` as a whole process against faster-coco-eval's whole evaluation, side by side.

    .venv/bin/python bench/eval_process.py                 # 5,000 images x 43 classes (about 15k gt, 98k dets)
    .venv/bin/python bench/eval_process.py --images 1000   # quick

Both read the same two JSON files from disk in a fresh Python process and print their summary; the
figure is the wall time of the whole process (interpreter start, imports, reading, evaluating,
printing), which is what a user or a CI step waits for. Each is run `--repeats` times, alternating,
and the median is reported (the machine may be shared; alternating spreads its noise over both).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.eval_speed import synthetic_case  # noqa: E402

FASTER_COCO_EVAL = """
import sys
from faster_coco_eval import COCO, COCOeval_faster
gt = COCO(sys.argv[1])
dt = gt.loadRes(sys.argv[2])
evaluation = COCOeval_faster(gt, dt, "bbox", print_function=print)
evaluation.evaluate()
evaluation.accumulate()
evaluation.summarize()
"""


def tsrgate_command(gt: Path, dt: Path) -> list[str]:
    return [sys.executable, "-m", "gate", "eval", str(gt), str(dt)]


def faster_command(gt: Path, dt: Path) -> list[str]:
    return [sys.executable, "-c", FASTER_COCO_EVAL, str(gt), str(dt)]


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    gt_dict, dets = synthetic_case(args.images)
    with tempfile.TemporaryDirectory() as tmp:
        gt, dt = Path(tmp) / "gt.json", Path(tmp) / "dt.json"
        gt.write_text(json.dumps(gt_dict))
        dt.write_text(json.dumps(dets))
        counted = sum(1 for a in gt_dict["annotations"] if not a.get("iscrowd"))
        print(f"case: {args.images} images, {len(gt_dict['categories'])} classes, {counted} ground truths, "
              f"{len(dets)} detections; load average {os.getloadavg()[0]:.2f}")
        times: dict[str, list[float]] = {"tsrgate eval": [], "faster-coco-eval": []}
        for _ in range(args.repeats):
            times["tsrgate eval"].append(wall(tsrgate_command(gt, dt)))
            times["faster-coco-eval"].append(wall(faster_command(gt, dt)))
    for name, values in times.items():
        print(f"{name:18s} whole process: median {statistics.median(values):.2f} s "
              f"(runs: {', '.join(f'{v:.2f}' for v in values)})")
    ratio = statistics.median(times["tsrgate eval"]) / statistics.median(times["faster-coco-eval"])
    print(f"tsrgate / faster-coco-eval: {ratio:.2f}")


if __name__ == "__main__":
    main()
