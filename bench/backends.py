"""Every deployment form of one model on one suite (or dataset): AP, consistency, parity and latency.

    .venv/bin/python bench/backends.py models/synth-baseline --suite clean [--suite-data WORLD] [--limit 200]
    .venv/bin/python bench/backends.py MODEL --data DATASET [--split split=test] [--limit 100]

Prints one row per backend (AP, AP50 by pycocotools, p50/p99 batch-1 latency, throughput) plus its
detection-level consistency against `torch` and the preprocessing-parity probe; backends that cannot
run here are listed as `unavailable (<reason>)`, backends that fail as `failed (<error>)`. Exports
are built (or reused) in the export cache. Too slow for the test suite: AP over a whole suite and
tens of timed runs per backend.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def load_images(args, card):
    """(name, gt CocoDataset, label -> category id (None = not evaluated), [(id, pixels)])."""
    if args.suite:
        from gate.suites.resolved import open_suite

        suite = open_suite(args.suite, data=args.suite_data, cache=args.suite_cache)
        images = [(loaded.info.id, loaded.pixels) for loaded in suite.iter_images()][: args.limit]
        kept = {i for i, _ in images}
        gt = suite.coco.model_copy(update={
            "images": [img for img in suite.coco.images if img.id in kept],
            "annotations": [a for a in suite.coco.annotations if a.image_id in kept],
        })
        categories = [suite.model_category_id(name) for name in card.class_names]
        return f"suite {suite.name} v{suite.version} (manifest {suite.manifest_sha256[:12]})", gt, categories, images
    from gate.data.dataset import DetectionDataset
    from gate.cards.classes import card_class_map, class_view, select_images

    dataset = DetectionDataset.load(args.data)
    ids = [img.id for img in dataset.images]
    if args.split:
        tag, _, value = args.split.partition("=")
        ids = select_images(dataset.coco, tag, [value])
    ids = ids[: args.limit]
    recipe_classes = card.training.recipe.content.get("classes") if card.training else None
    classes = card_class_map(card.class_names, dataset.coco, recipe_classes, dataset.annotations_path)
    gt = class_view(dataset.coco, classes, set(ids))
    images = [(loaded.info.id, loaded.pixels) for loaded in dataset.iter_images(ids)]
    name = f"dataset {args.data} ({args.split or 'all images'})"
    return name, gt, [i + 1 for i in range(len(card.class_names))], images


def coco_ap(gt, detections, categories) -> tuple[float, float]:
    """(AP, AP50) by pycocotools; detections of classes without an evaluation category are dropped."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    results = []
    for det in detections:
        for box, score, label in zip(det.boxes.tolist(), det.scores.tolist(), det.labels.tolist(), strict=True):
            category = categories[label]
            if category is not None:
                results.append({"image_id": det.image_id, "category_id": int(category),
                                "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]], "score": score})
    if not results:
        return 0.0, 0.0
    with contextlib.redirect_stdout(io.StringIO()):
        api = COCO()
        api.dataset = gt.to_json_dict()
        for ann in api.dataset["annotations"]:
            ann.setdefault("area", ann["bbox"][2] * ann["bbox"][3])
        api.createIndex()
        evaluator = COCOeval(api, api.loadRes(results), iouType="bbox")
        evaluator.params.imgIds = sorted(img.id for img in gt.images)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return float(evaluator.stats[0]), float(evaluator.stats[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--suite", help="Suite name or folder (gate.suites.open_suite).")
    source.add_argument("--data", type=Path, help="COCO dataset folder.")
    parser.add_argument("--suite-data", type=Path, default=None,
                        help="With --suite: the suite's source dataset/world when not where the spec says.")
    parser.add_argument("--suite-cache", type=Path, default=None, help="With --suite: render cache root.")
    parser.add_argument("--split", default=None, help="With --data: TAG=VALUE, e.g. split=test.")
    parser.add_argument("--limit", type=int, default=None, help="Evaluate only the first N images.")
    parser.add_argument("--backends", default="torch,onnx,int8,tensorrt,tensorrt-int8")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--latency-images", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--calibration-images", type=int, default=32)
    parser.add_argument("--calibration-data", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="Write all results here.")
    args = parser.parse_args(argv)

    import torch

    from gate.backends import create_backend
    from gate.backends.availability import backend_availability
    from gate.backends.consistency import compare_detections
    from gate.backends.latency import measure_latency, measure_latency_interleaved
    from gate.machine import cpu_model
    from gate.backends.parity import check_preprocessing_parity
    from gate.errors import GateError
    from gate.cards.card import load_card

    torch.set_num_threads(args.threads)
    card = load_card(args.model)
    where, gt, categories, images = load_images(args, card)
    int8_settings = {"calibration_images": args.calibration_images,
                     "calibration_data": str(args.calibration_data) if args.calibration_data else None}
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    print(f"model {card.name} (weights {card.weights.sha256[:12]}) on {where}: {len(images)} images")
    print(f"cpu: {cpu_model()}, threads {args.threads}; latency: batch 1, {args.warmup} warm-up + {args.runs} timed "
          f"runs over the first {args.latency_images} images")

    rows: dict[str, dict] = {}
    detections: dict[str, list] = {}
    loaded: dict[str, object] = {}
    for availability in backend_availability(names):
        name = availability.backend
        if availability.status == "unavailable":
            rows[name] = {"status": availability.line().split(": ", 1)[1]}
            continue
        options = {"export_settings": int8_settings} if name in ("int8", "tensorrt-int8") else {}
        try:
            started = time.perf_counter()
            backend = create_backend(name, args.model, threads=args.threads, **options).load()
            load_seconds = time.perf_counter() - started
            started = time.perf_counter()
            found = []
            for start in range(0, len(images), 4):
                chunk = images[start : start + 4]
                found.extend(backend.infer([p for _, p in chunk], [i for i, _ in chunk]))
            ap, ap50 = coco_ap(gt, found, categories)
            rows[name] = {"status": "ran", "ap": ap, "ap50": ap50, "load_s": load_seconds,
                          "predict_s": time.perf_counter() - started, "description": backend.describe().model_dump()}
            detections[name], loaded[name] = found, backend
        except GateError as exc:
            rows[name] = {"status": f"failed ({exc})"}
        print(f"  {name}: {rows[name]['status']}", flush=True)

    threshold = card.postprocessing.operating_threshold
    for name in loaded:
        if name != "torch" and "torch" in detections:
            rows[name]["consistency"] = compare_detections(
                detections["torch"], detections[name], backend=name, score_threshold=threshold).model_dump()
    if "torch" in loaded:
        parity = check_preprocessing_parity(list(loaded.values()), images[:4])
        for entry in parity.entries:
            rows[entry.backend]["parity"] = entry.model_dump()
    timing_images = images[: args.latency_images]
    for name, backend in loaded.items():
        rows[name]["latency"] = measure_latency(backend, timing_images, warmup=args.warmup,
                                                runs=args.runs).model_dump(mode="json")
    ratios = {}
    for a, b in (("onnx", "torch"), ("int8", "onnx")):
        if a in loaded and b in loaded:
            pair = measure_latency_interleaved(loaded[a], loaded[b], timing_images, warmup=args.warmup,
                                               runs=args.runs)
            ratios[f"{a}/{b}"] = {"p50": pair.ratio_p50, "mean": pair.ratio_mean}

    print()
    print(f"{'backend':<14} {'AP':>6} {'AP50':>6} {'p50 ms':>8} {'p99 ms':>8} {'img/s':>7} {'disagree':>9} "
          f"{'score drift max':>15} {'box drift max px':>16} {'parity':>7}")
    for name in names:
        row = rows[name]
        if row["status"] != "ran":
            print(f"{name:<14} {name}: {row['status']}")
            continue
        lat = row["latency"]
        cons = row.get("consistency")
        disagree = f"{cons['disagreement_rate']:.3f}" if cons else "ref"
        score = f"{cons['score_drift_max']:.4f}" if cons and cons["score_drift_max"] is not None else "-"
        box = f"{cons['box_drift_max_px']:.2f}" if cons and cons["box_drift_max_px"] is not None else "-"
        parity = row.get("parity", {}).get("matches_reference")
        print(f"{name:<14} {row['ap']:6.3f} {row['ap50']:6.3f} {lat['total']['p50_ms']:8.1f} "
              f"{lat['total']['p99_ms']:8.1f} {lat['throughput_images_per_s']:7.2f} {disagree:>9} {score:>15} "
              f"{box:>16} {'same' if parity else 'DIFF' if parity is False else '-':>7}")
    for pair, ratio in ratios.items():
        print(f"interleaved latency ratio {pair}: p50 {ratio['p50']:.2f}, mean {ratio['mean']:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"source": where, "rows": rows, "ratios": ratios}, indent=2, default=str))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
