"""Ultralytics' `val` figures beside pycocotools' and tsrgate's on the same predictions, images and labels.

Ultralytics' `val --save_json` writes the detections it scored (predictions.json). Scoring that very
file with pycocotools (COCOeval, 100 detections per image and class) and with tsrgate's evaluator splits
any difference between Ultralytics' mAP and tsrgate's AP into (a) the metric implementation, measured
here on identical detections, and (b) everything before it (preprocessing, decoding, NMS), measured by
comparing with `tsrgate measure` of the exported ONNX.

    PYTHONPATH=. python bench/ultralytics_vs_tsrgate.py --suite clean --predictions VAL/predictions.json \
        --ultralytics VAL.json
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from pathlib import Path


def coco_stats(coco_dict: dict, results: list[dict], max_dets: int = 100) -> tuple[float, float]:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = coco_dict
        gt.createIndex()
        dt = gt.loadRes(results) if results else COCO()
        evaluator = COCOeval(gt, dt, "bbox")
        evaluator.params.maxDets = [1, 10, max_dets]
        evaluator.evaluate()
        evaluator.accumulate()
    # stats[0] of summarize() is tied to maxDets 100; read AP and AP50 at the last maxDets from the table.
    precision = evaluator.eval["precision"][:, :, :, 0, -1]  # (iou, recall, class), all areas, maxDets[-1]

    def mean(values):
        kept = values[values > -1]
        return float(kept.mean()) if kept.size else -1.0

    return mean(precision), mean(precision[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", required=True)
    parser.add_argument("--predictions", required=True, type=Path, help="predictions.json of Ultralytics' val")
    parser.add_argument("--ultralytics", type=Path, help="the val step's summary (map50_95, map50)")
    parser.add_argument("--unverified", action="store_true", help="open the suite without checking pixel hashes")
    args = parser.parse_args()

    from gate.eval import evaluate_with_records
    from gate.suites import open_suite

    suite = open_suite(args.suite, verify=not args.unverified)
    raw = json.loads(args.predictions.read_text())
    # The YOLO layout names each image `<id:06d>_<file>`: the id is what the suite knows it by.
    results = [{"image_id": int(str(r["image_id"]).split("_")[0]), "category_id": r["category_id"],
                "bbox": r["bbox"], "score": r["score"]} for r in raw]
    coco = suite.coco.to_json_dict()
    ap, ap50 = coco_stats(coco, results)
    ap300, ap50_300 = coco_stats(coco, results, max_dets=300)
    evaluation, _ = evaluate_with_records(suite.coco, results, score_threshold=0.25)
    per_image = max((sum(1 for r in results if r["image_id"] == i.id) for i in suite.coco.images), default=0)
    print(f"suite {suite.name} v{suite.version}: {len(suite.coco.images)} images, {len(results)} detections "
          f"(at most {per_image} on one image)")
    if args.ultralytics:
        summary = json.loads(args.ultralytics.read_text())
        print(f"  Ultralytics val          mAP50-95 {summary['map50_95']:.4f}  mAP50 {summary['map50']:.4f}")
    print(f"  pycocotools, same dets   AP       {ap:.4f}  AP50  {ap50:.4f}")
    print(f"  pycocotools, maxDets 300 AP       {ap300:.4f}  AP50  {ap50_300:.4f}")
    print(f"  tsrgate eval, same dets  AP       {evaluation.summary['ap']:.4f}  AP50  {evaluation.summary['ap50']:.4f}")


if __name__ == "__main__":
    main()
