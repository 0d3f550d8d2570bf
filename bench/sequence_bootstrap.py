"""Time the sequence metrics' paired drive bootstrap (1,000 resamples) on each shipped drive suite.

    python bench/sequence_bootstrap.py [--resamples 1000] [--suites drive-day drive-night drive-rain]

Both sides' detections are made from the suite's own ground truth (each box kept with a seeded
probability, one in ten read as another class), so the figures need no model and no rendered images:
only the committed manifests. Prints, per suite, the time to associate and evaluate both sides and
the time of the bootstrap itself (goal: under 2 s for 1,000 resamples).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gate.compare.sequences import frame_truth
from gate.eval.sequence import ConfirmationRule, FrameDetections, evaluate_sequences, paired_sequence_bootstrap
from gate.suites.catalog import find_suite
from gate.suites.manifest import MANIFEST_FILE, load_manifest


def noisy_detections(truth, keep: float, seed: int, categories: np.ndarray):
    rng = np.random.default_rng(seed)
    out = {}
    for image_id, frame in sorted(truth.items()):
        mask = rng.random(len(frame.track_ids)) < keep
        labels = frame.categories.copy()
        swap = rng.random(len(labels)) < 0.1
        labels[swap] = rng.choice(categories, size=int(swap.sum()))
        out[image_id] = FrameDetections(frame.boxes[mask], labels[mask], np.full(int(mask.sum()), 0.9))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--suites", nargs="+", default=["drive-day", "drive-night", "drive-rain"])
    args = parser.parse_args()
    rule = ConfirmationRule()
    for name in args.suites:
        manifest = load_manifest(find_suite(name) / MANIFEST_FILE)
        truth = frame_truth(manifest)
        names = {c.id: c.name for c in manifest.taxonomy.coco_categories()}
        categories = np.array(sorted(names), np.int64)
        start = time.perf_counter()
        cand = evaluate_sequences(manifest.sequence, truth, noisy_detections(truth, 0.7, 1, categories), names, rule)
        base = evaluate_sequences(manifest.sequence, truth, noisy_detections(truth, 0.8, 2, categories), names, rule)
        evaluated = time.perf_counter() - start
        start = time.perf_counter()
        deltas = paired_sequence_bootstrap(cand, base, resamples=args.resamples)
        boot = time.perf_counter() - start
        table = manifest.sequence
        print(f"{name}: {len(table.drives)} drives, {table.frames} frames, {table.tracks} tracks; evaluate both sides "
              f"{evaluated:.2f} s; paired drive bootstrap, {args.resamples} resamples, {len(deltas)} metric rows: "
              f"{boot:.2f} s")


if __name__ == "__main__":
    main()
