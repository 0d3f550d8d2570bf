#!/usr/bin/env bash
# The synth-yolo recipe: YOLOv8n trained and exported by Ultralytics' own tools on the generated world.
#
# Ultralytics is AGPL-3.0 and needs torchvision's compiled operators, which do not load beside the CPU
# build of torch that tsrgate pins; so it lives in its own environment ($YOLO_VENV), made here with the
# standard PyPI torch build (CUDA-enabled, runs on the CPU). tsrgate itself never imports Ultralytics:
# the shipped ONNX files need only ONNX Runtime.
#
#   bash models/recipes/synth-yolo.sh [STEP...]     steps: env data train export val card (default: all)
#
# The model trains on 256 px windows of the world's frames at native resolution (4,422 windows that hold
# signs; the first FRACTION of them are used) and is exported and validated at 512 px, where a
# 512x320 frame is letterboxed at scale 1: the signs keep the size they had in training.
#
# Environment: YOLO_VENV (default .venv-yolo), TSRGATE_PYTHON (default .venv/bin/python), WORK (default
# build/synth-yolo: YOLO-layout data and Ultralytics runs), EPOCHS (default 2), FRACTION (default 0.5),
# TRAIN_IMGSZ (default 256), IMGSZ (export and val, default 512), BATCH (default 16), OUT (default
# models/synth-yolo: the raw-head form; the nms=True form goes to $OUT-nms). Long steps run under
# `nice -n 15`; `train` resumes from the last epoch's checkpoint.
set -euo pipefail
cd "$(dirname "$0")/../.."
YOLO_VENV=${YOLO_VENV:-.venv-yolo}
TSRGATE_PYTHON=${TSRGATE_PYTHON:-.venv/bin/python}
WORK=${WORK:-build/synth-yolo}
EPOCHS=${EPOCHS:-2}
FRACTION=${FRACTION:-0.5}
TRAIN_IMGSZ=${TRAIN_IMGSZ:-256}
IMGSZ=${IMGSZ:-512}
BATCH=${BATCH:-16}
OUT=${OUT:-models/synth-yolo}
ULTRALYTICS_VERSION=${ULTRALYTICS_VERSION:-8.4.190}
STEPS=${*:-env data train export val card}
# Ultralytics keeps its settings here, and must neither phone home nor try to auto-install anything.
export YOLO_CONFIG_DIR=$(realpath -m "$WORK")/ultralytics-config YOLO_OFFLINE=1
mkdir -p "$WORK" "$YOLO_CONFIG_DIR"
PY="nice -n 15 $YOLO_VENV/bin/python models/recipes/synth_yolo_ultralytics.py"

for step in $STEPS; do
  case $step in
  env)
    test -x "$YOLO_VENV/bin/python" || python3.11 -m venv "$YOLO_VENV"
    "$YOLO_VENV/bin/pip" install --quiet torch==2.14.1 torchvision==0.29.1
    "$YOLO_VENV/bin/pip" install --quiet "ultralytics==$ULTRALYTICS_VERSION" onnx onnxslim onnxruntime faster-coco-eval
    "$YOLO_VENV/bin/python" -c "import torchvision.ops, torch; torchvision.ops.nms(torch.zeros(1,4), torch.zeros(1), 0.5)"
    "$YOLO_VENV/bin/yolo" settings sync=False >/dev/null
    ;;
  data)
    PYTHONPATH=$PWD "$TSRGATE_PYTHON" models/recipes/synth_yolo_data.py "$WORK/data" world clean ;;
  train)
    resume=""; test -f "$WORK/runs/train/weights/last.pt" && resume="--resume"
    $PY train --data "$WORK/data/world/data.yaml" --project "$WORK/runs" --epochs "$EPOCHS" \
      --imgsz "$TRAIN_IMGSZ" --fraction "$FRACTION" --batch "$BATCH" $resume ;;
  export)
    $PY export --weights "$WORK/runs/train/weights/last.pt" --imgsz "$IMGSZ" --out "$WORK/export" ;;
  val)
    $PY val --weights "$WORK/runs/train/weights/last.pt" --data "$WORK/data/clean/data.yaml" --imgsz "$IMGSZ" \
      --out "$WORK/val/clean-pt.json"
    $PY val --weights "$WORK/export/model-raw.onnx" --data "$WORK/data/clean/data.yaml" --imgsz "$IMGSZ" \
      --out "$WORK/val/clean-onnx.json" ;;
  card)  # the model folders: each ONNX with its card (what `tsrgate ingest` writes)
    PYTHONPATH=$PWD "$TSRGATE_PYTHON" models/recipes/synth_yolo_card.py "$WORK" "$OUT" ;;
  *) echo "unknown step: $step (expected env, data, train, export, val, card)" >&2; exit 2 ;;
  esac
done
