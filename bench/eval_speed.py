"""Evaluation speed and memory: pycocotools vs faster-coco-eval vs tsrgate, and the bootstrap.

    .venv/bin/python bench/eval_speed.py                 # 5,000 images, 43 classes, 1,000 resamples
    .venv/bin/python bench/eval_speed.py --images 1000 --resamples 200 --memory-images 0   # quick

The case is synthetic but shaped like traffic-sign data: about 3 ground-truth signs per image with a
skewed class frequency, sizes from tiny to large, a few ignore regions; about 20 predictions per image:
several jittered boxes near each sign (mostly the right class, sometimes a confusable neighbouring
class), plus low-scoring background boxes. The bootstrap's baseline is the same detector losing 15%
of its detections, with noisier scores. Each step reports wall-clock seconds and this process's CPU
seconds (on a shared machine the CPU figure is the steadier comparison; the header prints the load
average). "load" is building each tool's in-memory index from the same Python lists, "evaluate" is
pycocotools' `evaluate()` + `accumulate()`, faster-coco-eval's equivalent, and tsrgate's full
evaluation (matching, COCO metrics, per-class / per-size / operating-point metrics, confusion, TIDE,
PR curves). The memory figure comes from a child process that builds a 100,000-image case as arrays
(as a model backend hands them over), evaluates it and reports its peak resident set size
(`resource.getrusage`) and the size of the match records.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gate.data.coco import CocoDataset  # noqa: E402
from gate.eval import evaluate_records, match, paired_bootstrap, predictions_from_results  # noqa: E402
from gate.eval.groundtruth import ground_truth_arrays  # noqa: E402


def synthetic_case(num_images: int, num_classes: int = 43, seed: int = 0):
    """COCO ground truth dict and COCO results list (see the module docstring for the shape)."""
    rng = np.random.default_rng(seed)
    freq = 1.0 / np.arange(1, num_classes + 1) ** 0.8
    freq /= freq.sum()
    images, anns, dets = [], [], []
    width, height = 1360, 800
    for img_id in range(1, num_images + 1):
        images.append({"id": img_id, "file_name": f"{img_id:06d}.jpg", "width": width, "height": height})
        n_gt = rng.poisson(3.0)
        sizes = np.exp(rng.uniform(np.log(8), np.log(160), n_gt))
        classes = rng.choice(num_classes, n_gt, p=freq) + 1
        n_det = 0
        for s, c in zip(sizes, classes):
            w, h = s * rng.uniform(0.85, 1.15), s * rng.uniform(0.85, 1.15)
            x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
            crowd = rng.random() < 0.02
            ann = {"id": len(anns) + 1, "image_id": img_id, "category_id": int(c), "bbox": [x, y, w, h],
                   "area": w * h, "iscrowd": int(crowd)}
            if crowd:
                ann["ignore"] = True
            anns.append(ann)
            found = rng.random() < 0.9
            for j in range(rng.integers(1, 5)):
                jitter = rng.normal(0, 0.08 * s, 4)
                cls = int(c)
                if rng.random() < 0.08:  # a confusable neighbour (e.g. 30 read as 80)
                    cls = int(np.clip(c + rng.choice([-1, 1]), 1, num_classes))
                score = rng.beta(8, 2) if (j == 0 and found) else rng.beta(2, 5)
                dets.append({"image_id": img_id, "category_id": cls,
                             "bbox": [x + jitter[0], y + jitter[1], max(1.0, w + jitter[2]), max(1.0, h + jitter[3])],
                             "score": float(score)})
                n_det += 1
        for _ in range(max(0, int(rng.normal(20, 3)) - n_det)):  # background
            s = np.exp(rng.uniform(np.log(8), np.log(120)))
            dets.append({"image_id": img_id, "category_id": int(rng.choice(num_classes, p=freq) + 1),
                         "bbox": [rng.uniform(0, width - s), rng.uniform(0, height - s), s, s * rng.uniform(0.8, 1.2)],
                         "score": float(rng.beta(1, 6))})
    cats = [{"id": c, "name": f"class_{c:02d}"} for c in range(1, num_classes + 1)]
    return {"images": images, "annotations": anns, "categories": cats}, dets


def _time(fn):
    """(wall seconds, CPU seconds of this process, result)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return (time.perf_counter() - t0, time.process_time() - c0), out


def weaker_model(dets, seed: int = 1):
    """A baseline for the bootstrap: the same detector losing 15% of its detections, noisier scores."""
    rng = np.random.default_rng(seed)
    keep = rng.random(len(dets)) > 0.15
    noise = rng.normal(0, 0.05, len(dets))
    return [dict(d, score=float(np.clip(d["score"] + e, 0.0, 1.0))) for d, k, e in zip(dets, keep, noise) if k]


def bench_pycocotools(gt_dict, dets):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        def load():
            gt = COCO()
            gt.dataset = gt_dict
            gt.createIndex()
            return gt, gt.loadRes([dict(d) for d in dets])

        t_load, (gt, dt) = _time(load)
        ev = COCOeval(gt, dt, "bbox")
        t_eval, _ = _time(lambda: (ev.evaluate(), ev.accumulate()))
        ev.summarize()
    return t_load, t_eval, np.array(ev.stats)


def bench_faster_coco_eval(gt_dict, dets):
    from faster_coco_eval import COCO, COCOeval_faster

    def load():
        gt = COCO(gt_dict, use_deepcopy=True)
        return gt, gt.loadRes([dict(d) for d in dets])

    t_load, (gt, dt) = _time(load)
    ev = COCOeval_faster(gt, dt, "bbox", print_function=lambda *a, **k: None)
    t_eval, _ = _time(lambda: (ev.evaluate(), ev.accumulate()))
    ev.summarize()
    return t_load, t_eval, np.array(ev.stats)


def bench_tsrgate(gt_dict, dets):
    def load():
        dataset = CocoDataset.model_validate(gt_dict)
        gt = ground_truth_arrays(dataset)
        return gt, predictions_from_results(dets, gt)

    t_load, (gt, preds) = _time(load)

    def run():
        records = match(gt, preds)
        return records, evaluate_records(records, score_threshold=0.5)

    t_eval, (records, result) = _time(run)
    t_match, _ = _time(lambda: match(gt, preds))
    return t_load, t_eval, t_match, records, result, gt


def synthetic_arrays(num_images: int, num_classes: int = 43, seed: int = 1):
    """The same kind of case as `synthetic_case`, built directly as arrays (what a model backend
    hands to the evaluator), so the memory figure is the evaluator's and not Python dicts'."""
    from gate.eval import GroundTruthArrays, PredictionArrays

    rng = np.random.default_rng(seed)
    freq = 1.0 / np.arange(1, num_classes + 1) ** 0.8
    freq /= freq.sum()
    width, height = 1360.0, 800.0
    n_gt = rng.poisson(3.0, num_images)
    g_img = np.repeat(np.arange(num_images), n_gt)
    g = g_img.size
    size = np.exp(rng.uniform(np.log(8), np.log(160), g))
    w, h = size * rng.uniform(0.85, 1.15, g), size * rng.uniform(0.85, 1.15, g)
    x, y = rng.uniform(0, 1, g) * (width - w), rng.uniform(0, 1, g) * (height - h)
    cls = rng.choice(num_classes, g, p=freq)
    gt = GroundTruthArrays(
        image_ids=np.arange(1, num_images + 1, dtype=np.int64),
        category_ids=np.arange(1, num_classes + 1, dtype=np.int64),
        category_names=tuple(f"class_{c:02d}" for c in range(1, num_classes + 1)),
        image=g_img.astype(np.int32), category=cls.astype(np.int32),
        bbox=np.column_stack([x, y, w, h]), area=w * h, ignore=rng.random(g) < 0.02,
        annotation_id=np.arange(1, g + 1, dtype=np.int64),
    )
    per_gt = rng.integers(1, 5, g)
    src = np.repeat(np.arange(g), per_gt)
    first = np.concatenate(([True], src[1:] != src[:-1]))
    jitter = rng.normal(0, 1, (src.size, 4)) * (0.08 * size[src])[:, None]
    d_cls = cls[src] + np.where(rng.random(src.size) < 0.08, rng.choice([-1, 1], src.size), 0)
    d_cls = np.clip(d_cls, 0, num_classes - 1)
    score = np.where(first & (rng.random(src.size) < 0.9), rng.beta(8, 2, src.size), rng.beta(2, 5, src.size))
    d_box = np.column_stack([x[src], y[src], w[src], h[src]]) + jitter
    d_box[:, 2:] = np.maximum(d_box[:, 2:], 1.0)
    n_bg = np.maximum(0, rng.normal(20, 3, num_images).astype(int) - np.bincount(g_img[src], minlength=num_images))
    b_img = np.repeat(np.arange(num_images), n_bg)
    b_s = np.exp(rng.uniform(np.log(8), np.log(120), b_img.size))
    b_box = np.column_stack([rng.uniform(0, 1, b_img.size) * (width - b_s), rng.uniform(0, 1, b_img.size) * (height - b_s),
                             b_s, b_s * rng.uniform(0.8, 1.2, b_img.size)])
    preds = PredictionArrays.from_arrays(
        image_id=np.concatenate([g_img[src], b_img]) + 1,
        category_id=np.concatenate([d_cls, rng.choice(num_classes, b_img.size, p=freq)]) + 1,
        bbox=np.vstack([d_box, b_box]),
        score=np.concatenate([score, rng.beta(1, 6, b_img.size)]),
    )
    return gt, preds


def memory_child(num_images: int) -> None:
    """Evaluate a large case and print peak RSS and record sizes as JSON (run in a fresh process)."""
    gt, preds = synthetic_arrays(num_images)
    t0 = time.perf_counter()
    records = match(gt, preds)
    evaluate_records(records, score_threshold=0.5)
    elapsed = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.npz"
        records.save(path)
        npz_bytes = path.stat().st_size
    in_memory = sum(getattr(records, f).nbytes for f in vars(records) if isinstance(getattr(records, f), np.ndarray))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"images": num_images, "detections": records.num_detections,
                      "ground_truths": int(gt.image.size), "eval_seconds": elapsed,
                      "records_bytes": in_memory, "npz_bytes": npz_bytes, "peak_rss_bytes": peak_kib * 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--classes", type=int, default=43)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--memory-images", type=int, default=100_000, help="0 skips the memory run")
    parser.add_argument("--skip-pycocotools", action="store_true")
    parser.add_argument("--memory-child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return

    gt_dict, dets = synthetic_case(args.images, args.classes, seed=0)
    print(f"case: {args.images} images, {args.classes} classes, {len(gt_dict['annotations'])} ground truths, "
          f"{len(dets)} predictions ({len(dets) / args.images:.1f} per image); cpus={os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}")

    rows = []
    ref_stats = None
    if not args.skip_pycocotools:
        t_load, t_eval, ref_stats = bench_pycocotools(gt_dict, dets)
        rows.append(("pycocotools (evaluate+accumulate)", t_load, t_eval))
    t_load_f, t_eval_f, fce_stats = bench_faster_coco_eval(gt_dict, dets)
    rows.append(("faster-coco-eval (evaluate+accumulate)", t_load_f, t_eval_f))
    t_load_t, t_eval_t, t_match, records, result, gt = bench_tsrgate(gt_dict, dets)
    rows.append(("tsrgate full evaluation", t_load_t, t_eval_t))
    rows.append(("  of which matching", None, t_match))

    base_records = match(gt, predictions_from_results(weaker_model(dets), gt))
    t_boot, comparison = _time(lambda: paired_bootstrap(records, base_records, resamples=args.resamples, seed=0))
    rows.append((f"tsrgate paired bootstrap, {args.resamples} resamples", None, t_boot))

    ref = rows[0][2] if ref_stats is not None else None
    print()
    print(f"{'step':<44} {'load s':>7} {'wall s':>8} {'cpu s':>8} {'vs pycocotools (wall / cpu)':>28}")
    for name, t_l, t_e in rows:
        ratio = f"{ref[0] / t_e[0]:>12.1f}x / {ref[1] / t_e[1]:.1f}x" if ref else "n/a"
        load = f"{t_l[0]:>7.2f}" if t_l else f"{'':>7}"
        print(f"{name:<44} {load} {t_e[0]:>8.2f} {t_e[1]:>8.2f} {ratio:>28}")
    print()
    print(f"tsrgate evaluation vs faster-coco-eval: {t_eval_f[0] / t_eval_t[0]:.2f}x faster wall, "
          f"{t_eval_f[1] / t_eval_t[1]:.2f}x CPU ({t_eval_t[0]:.2f} s vs {t_eval_f[0]:.2f} s)")
    if ref:
        print(f"bootstrap ({args.resamples} resamples, candidate + baseline) vs ONE pycocotools evaluation: "
              f"{t_boot[0]:.2f} s vs {ref[0]:.2f} s wall ({ref[0] / t_boot[0]:.2f}x), "
              f"{t_boot[1]:.2f} s vs {ref[1]:.2f} s CPU ({ref[1] / t_boot[1]:.2f}x)")
        print(f"max |tsrgate - pycocotools| over COCOeval.stats: {np.abs(np.array(result.coco_stats) - ref_stats).max():.2e}; "
              f"faster-coco-eval: {np.abs(fce_stats - ref_stats).max():.2e}")
    ap = comparison.find("ap")
    print(f"bootstrap example: AP candidate {ap.value_candidate:.4f} vs baseline {ap.value_baseline:.4f}, "
          f"delta {ap.delta:+.4f}, 95% CI [{ap.ci_low:+.4f}, {ap.ci_high:+.4f}], p_worse {ap.p_worse:.3f}")

    if args.memory_images:
        out = subprocess.run([sys.executable, __file__, "--memory-child", str(args.memory_images)],
                             capture_output=True, text=True, check=True)
        mem = json.loads(out.stdout.strip().splitlines()[-1])
        print()
        print(f"memory, {mem['images']} images / {mem['ground_truths']} ground truths / {mem['detections']} "
              f"detections: peak RSS {mem['peak_rss_bytes'] / 2**30:.2f} GiB (whole process: input arrays, "
              f"matching, every metric incl. TIDE); match records {mem['records_bytes'] / 2**20:.0f} MiB in memory, "
              f"{mem['npz_bytes'] / 2**20:.0f} MiB as .npz; full evaluation {mem['eval_seconds']:.1f} s")


if __name__ == "__main__":
    main()
