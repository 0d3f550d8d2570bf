"""Steps 2-4 of the synth-yolo recipe, run in the Ultralytics environment (not tsrgate's): train, export, val.

Ultralytics does all the work with its own tools: the trainer builds YOLOv8n from its model YAML
(`yolov8n.yaml`, shipped inside the package: no weight download), the exporter writes both ONNX forms,
and `val` scores a model on a YOLO-layout dataset. Everything is offline: plots are off (Ultralytics
would fetch a font for them) and every package it would auto-install is installed by synth-yolo.sh.

    python synth_yolo_ultralytics.py train  --data DATA/world/data.yaml --project RUNS --epochs E --imgsz 256
    python synth_yolo_ultralytics.py export --weights RUNS/train/weights/last.pt --imgsz 512 --out EXPORT
    python synth_yolo_ultralytics.py val    --weights W.pt|W.onnx --data DATA/clean/data.yaml --imgsz S --out F.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

# Training hyper-parameters that differ from Ultralytics' defaults, and why.
OVERRIDES = {
    "fliplr": 0.0,  # a mirrored turn-left sign is a turn-right sign: horizontal flips would teach wrong labels
    "scale": 0.3,  # default 0.5 shrinks the world's 8-16 px signs below what a stride-8 head can see
    # A few hundred iterations from scratch on 2 shared cores: an explicit AdamW rate (Ultralytics' automatic
    # choice for short runs is 3e-4 here) and a short warm-up (the default 3 epochs would be the whole run).
    "optimizer": "AdamW",
    "lr0": 0.002,
    "warmup_epochs": 0.5,
    "cache": "ram",  # the windows are decoded once, not every epoch
    "plots": False,  # plots need a font download, impossible offline
    "amp": False,  # CPU training; AMP's check would download a model
    "val": False,  # per-epoch validation costs CPU minutes; the recipe validates once, on `clean`, afterwards
    "deterministic": True,
    "seed": 0,
    "device": "cpu",
}


def train(args: argparse.Namespace) -> None:
    from ultralytics import YOLO

    last = Path(args.project) / "train" / "weights" / "last.pt"
    started = time.time()
    if args.resume and last.is_file():
        print(f"resuming from {last}", flush=True)
        YOLO(str(last)).train(resume=True)
    else:
        model = YOLO(args.model)  # built from the YAML: random initial weights
        model.train(data=args.data, epochs=args.epochs, imgsz=args.imgsz, batch=args.batch, workers=args.workers,
                    project=str(Path(args.project).resolve()), name="train", exist_ok=True,
                    close_mosaic=args.close_mosaic, fraction=args.fraction, save_period=1, **OVERRIDES)
    minutes = (time.time() - started) / 60
    record = Path(args.project) / "train" / "training_time.json"
    previous = json.loads(record.read_text())["minutes"] if args.resume and record.is_file() else 0.0
    record.write_text(json.dumps({"minutes": round(previous + minutes, 1)}))
    print(f"training wall time: {previous + minutes:.1f} min", flush=True)


def export(args: argparse.Namespace) -> None:
    """Both ONNX forms; Ultralytics writes each to the same name beside the weights, so move one before the next."""
    from ultralytics import YOLO

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for nms, name in ((False, "model-raw.onnx"), (True, "model-nms.onnx")):
        # The in-graph NMS keeps scores above 0.001 (the exporter's default, 0.25, would cut the low-score
        # tail that AP is computed from), class-wise at IoU 0.7, at most 300 per image: Ultralytics' val settings.
        in_graph = {"conf": 0.001, "iou": 0.7, "max_det": 300} if nms else {}
        written = YOLO(args.weights).export(format="onnx", imgsz=args.imgsz, opset=args.opset, dynamic=False,
                                            simplify=True, nms=nms, batch=1, device="cpu", **in_graph)
        shutil.move(written, out / name)
        print(f"exported nms={nms} -> {out / name}", flush=True)


def val(args: argparse.Namespace) -> None:
    from ultralytics import YOLO

    metrics = YOLO(args.weights, task="detect").val(
        data=args.data, split="val", imgsz=args.imgsz, batch=1, conf=0.001, iou=0.7, plots=False, device="cpu",
        save_json=True, project=str(Path(args.out).parent.resolve()), name=Path(args.out).stem, exist_ok=True)
    result = {"weights": args.weights, "imgsz": args.imgsz, "map50_95": float(metrics.box.map),
              "map50": float(metrics.box.map50), "conf": 0.001, "iou": 0.7, "save_dir": str(metrics.save_dir)}
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("train")
    p.add_argument("--data", required=True)
    p.add_argument("--project", required=True)
    p.add_argument("--model", default="yolov8n.yaml")
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--imgsz", type=int, default=256)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--close-mosaic", type=int, default=1)
    p.add_argument("--fraction", type=float, default=1.0, help="share of the training images used (the first ones)")
    p.add_argument("--resume", action="store_true")
    p.set_defaults(run=train)
    p = sub.add_parser("export")
    p.add_argument("--weights", required=True)
    p.add_argument("--imgsz", type=int, default=512)
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--out", required=True)
    p.set_defaults(run=export)
    p = sub.add_parser("val")
    p.add_argument("--weights", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--imgsz", type=int, default=512)
    p.add_argument("--out", required=True)
    p.set_defaults(run=val)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
