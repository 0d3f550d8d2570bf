"""Last step of the synth-yolo recipe (tsrgate's Python): the model folders, each ONNX with its card.

Writes OUT (the raw-head export, family `yolo`, layout `yolo_raw`) and OUT-nms (the `nms=True` export,
layout `yolo_end_to_end`): `model.onnx` plus `card.json` with the class list (synth-baseline's order, which
the YOLO dataset used), Ultralytics' letterbox preprocessing at the export size, the recipe, the command
and the measured training time. It writes what `tsrgate ingest EXPORT.onnx --card CARD --out OUT` writes
for an ONNX model (weights file name, sha256, size), so either way gives the same folder.

    PYTHONPATH=. python models/recipes/synth_yolo_card.py WORK OUT
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import yaml

from gate import __version__
from gate.cards.card import ONNX_FILE, load_card
from gate.storage import atomic_write_json, sha256_file

LAYOUTS = {"raw": {"layout": "yolo_raw", "predictions": "output0", "multi_label": True},
           "nms": {"layout": "yolo_end_to_end", "predictions": "output0"}}


def card_for(form: str, work: Path, class_names: list[str], weights: Path) -> dict:
    args = yaml.safe_load((work / "runs/train/args.yaml").read_text())
    minutes = json.loads((work / "runs/train/training_time.json").read_text())["minutes"]
    imgsz = 512  # the export size (training used 256 px windows at the same scale)
    shape = "raw head output (1, 4 + 27, N)" if form == "raw" else "nms=True output (1, 300, 6)"
    description = (
        f"YOLOv8n built from Ultralytics' yolov8n.yaml (random initial weights, no download), trained by "
        f"Ultralytics 8.4.190's own trainer for {args['epochs']} epochs on the first {args['fraction']:.0%} of the "
        f"256 px native-resolution windows with signs of the generated world (version 1 as rendered on this AMD EPYC machine, seed 0, 1500 images, train split): "
        f"AdamW lr {args['lr0']}, batch {args['batch']}, mosaic (off in the last epoch), no flips, scale jitter "
        f"{args['scale']}, seed {args['seed']}; {minutes:.0f} min of training on 2 shared CPU cores. Exported by "
        f"Ultralytics' exporter (ONNX opset 17, {imgsz}x{imgsz}, {shape}). Recipe models/recipes/synth-yolo.sh; "
        f"command: bash models/recipes/synth-yolo.sh (steps env data train export val card). Ultralytics is "
        f"AGPL-3.0; this ONNX file needs only ONNX Runtime."
    )
    return {
        "card_format": 1,
        "name": "synth-yolo" if form == "raw" else "synth-yolo-nms",
        "version": "1.0.0",
        "description": description,
        "architecture": {"family": "yolo", "size": "yolov8n", "format": "onnx", "config": {},
                         "outputs": LAYOUTS[form], "reference_form": "onnx"},
        "class_names": class_names,
        "preprocessing": {"input_size": [imgsz, imgsz], "resize": "letterbox", "letterbox_align": "center",
                          "pad_value": 114, "stride": 32, "interpolation": "bilinear", "tile_overlap": 0,
                          "rescale_factor": 1.0 / 255.0, "normalize": None, "channel_order": "rgb",
                          "dtype": "float32"},
        "postprocessing": {"score_threshold": 0.001, "operating_threshold": 0.25, "top_k": 300, "nms_iou": 0.7,
                           "tile_nms_iou": 0.5, "clip_boxes": True},
        "weights": {"file": ONNX_FILE, "sha256": sha256_file(weights), "bytes": weights.stat().st_size,
                    "parameters": None},
        "training": None,
        "evaluation": [],
        "created_by": "ingest",
        "tsrgate_version": __version__,
    }


def main(work: Path, out: Path) -> None:
    class_names = list(load_card(Path("models/synth-baseline"), verify_weights=False).class_names)
    names = yaml.safe_load((work / "data/world/data.yaml").read_text())["names"]
    if [names[i] for i in range(len(names))] != class_names:
        raise SystemExit("the YOLO dataset's class order is not synth-baseline's")
    for form, folder in (("raw", out), ("nms", out.with_name(out.name + "-nms"))):
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(work / "export" / f"model-{form}.onnx", folder / ONNX_FILE)
        atomic_write_json(folder / "card.json", card_for(form, work, class_names, folder / ONNX_FILE))
        print(f"{folder}: {ONNX_FILE} + card.json")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
