"""A stand-in for a device team's pipeline: run a model on a `tsrgate suite export` and write the detections back.

The real thing is the vehicle's C++/TensorRT stack; this script plays its part in the README's worked
example and its test. It runs in its own process, reads only the export folder (images.json and the
image files, decoded as RGB), and can be given a different runtime configuration than the model card's,
such as feeding BGR instead of RGB: the planted preprocessing mismatch the gate must catch.

    python bench/device_pipeline.py MODEL EXPORT --out DIR/<suite> [--backend onnx] [--channel-order bgr]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
from PIL import Image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path)
    parser.add_argument("export", type=Path, help="a folder written by `tsrgate suite export`")
    parser.add_argument("--out", type=Path, required=True, help="DIR/<suite>: where detections.json goes")
    parser.add_argument("--backend", default="onnx", help="tsrgate backend that plays the device runtime")
    parser.add_argument("--channel-order", choices=["rgb", "bgr"], default=None,
                        help="override the card's channel order (a planted preprocessing mismatch)")
    parser.add_argument("--device", default=f"{platform.machine()} CPU (stand-in for the vehicle computer)")
    args = parser.parse_args()

    from gate import __version__
    from gate.backends import create_backend
    from gate.cards.card import load_card

    card = load_card(args.model, verify_weights=True)
    preprocessing = card.preprocessing
    if args.channel_order is not None:
        preprocessing = preprocessing.model_copy(update={"channel_order": args.channel_order})
    index = json.loads((args.export / "images.json").read_text(encoding="utf-8"))
    results, latency = [], {}
    with create_backend(args.backend, args.model, card=card, preprocessing=preprocessing, max_batch=1) as backend:
        description = backend.describe()
        for image in index["images"]:
            pixels = np.asarray(Image.open(args.export / "images" / image["file_name"]).convert("RGB"))
            started = time.perf_counter()
            (detections,) = backend.infer([pixels], [image["id"]])
            latency[image["id"]] = round((time.perf_counter() - started) * 1000.0, 3)
            for box, score, label in zip(detections.boxes.tolist(), detections.scores.tolist(),
                                         detections.labels.tolist(), strict=True):
                x1, y1, x2, y2 = box
                results.append({"image_id": image["id"], "category_id": label + 1,
                                "bbox": [x1, y1, x2 - x1, y2 - y1], "score": score})
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "detections.json").write_text(json.dumps(results), encoding="utf-8")
    (args.out / "description.json").write_text(json.dumps({
        "suite": index["suite"], "suite_manifest_sha256": index["suite_manifest_sha256"],
        "runtime": f"tsrgate {args.backend} backend, channel order {preprocessing.channel_order}",
        "device": args.device, "precision": description.precision,
        "software": {"tsrgate": __version__, **description.libraries},
        "image_ids": [image["id"] for image in index["images"]], "latency_ms": latency,
    }, indent=2), encoding="utf-8")
    print(f"{len(results)} detections on {len(index['images'])} images written to {args.out}")


if __name__ == "__main__":
    main()
