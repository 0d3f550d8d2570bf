"""`tsrgate suite export`: a suite's exact images for a pipeline tsrgate cannot run (the vehicle's stack).

The export holds the image files whose pixels the manifest hashes (verified by `open_suite` before they
are copied), `images.json` (suite name, version, manifest sha256, and per image its id, file name, size
and pixels sha256) and a README stating the contract the detections must follow to come back through
`tsrgate run MODEL --external NAME=DIR` (gate.run.external). The folder is built under a temporary name
and appears only when complete.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pydantic import BaseModel

from gate.errors import InputError
from gate.storage import atomic_write_json, atomic_write_text, staged_dir

EXPORT_INDEX = "images.json"
# What the external pipeline hands back per suite (read by gate.run.external).
RESULTS_FILE = "detections.json"
DESCRIPTION_FILE = "description.json"
EXPORT_FORMAT = 1


class ExportedImage(BaseModel):
    id: int
    file_name: str  # under images/
    width: int
    height: int
    pixels_sha256: str  # sha256 of the decoded RGB pixels, as in the suite manifest


class SuiteExport(BaseModel):
    format: int = EXPORT_FORMAT
    suite: str
    version: str
    suite_manifest_sha256: str
    images: list[ExportedImage]


CONTRACT = """# Suite {suite} v{version}: images for an external pipeline

Exported by `tsrgate suite export`. Suite manifest sha256: `{sha}`.

`images/` holds the suite's {count} images exactly as the suite manifest hashes them (`images.json`
lists each image's id, file name, size and the sha256 of its decoded RGB pixels). Decode them as RGB,
8 bits per channel; what your pipeline does next (resize, colour order, precision) is what the gate
measures.

## What to hand back

One folder per suite, `DIR/{suite}/`, holding two files:

- `{results}`: COCO results, a JSON list of
  `{{"image_id": ID, "category_id": CLASS_INDEX + 1, "bbox": [x, y, width, height], "score": S}}`
  with boxes in the pixels of these images, scores in [0, 1] and `category_id` = the model card's class
  index + 1 (the card's `class_names` order). Keep low-score detections (0.001 and up): AP needs them.
- `{description}`: what produced them, e.g.
  `{{"suite": "{suite}", "suite_manifest_sha256": "{sha}", "runtime": "TensorRT 10.3 C++",
  "device": "Jetson Orin AGX", "precision": "int8", "software": {{"tensorrt": "10.3.0"}},
  "image_ids": [every image id of images.json], "latency_ms": {{"ID": 12.5, ...}}}}`
  (`latency_ms`, per image and end to end, is optional).

Then: `tsrgate run MODEL --suites {suite} --external NAME=DIR --out RESULTS` records them as backend
`device:NAME` beside tsrgate's own backends, and `tsrgate compare` gates them. The run refuses (exit 2,
nothing written) detections made on another manifest, image ids that are unknown or missing, non-finite
or out-of-range scores, negative box sizes, category ids outside the card's classes and empty files.
"""


def export_suite(suite, out: str | Path, force: bool = False) -> SuiteExport:
    """Copy a suite's verified image files to `out/images/` with the id list and the contract README."""
    names = [Path(suite.image_path(image.id)).name for image in suite.coco.images]
    if len(set(names)) != len(names):
        raise InputError(f"suite {suite.name}: two images share a file name; cannot export them side by side")
    pixels = {entry.id: entry.pixels_sha256 for entry in suite.manifest.images}
    export = SuiteExport(
        suite=suite.name, version=suite.version, suite_manifest_sha256=suite.manifest_sha256,
        images=[ExportedImage(id=image.id, file_name=name, width=image.width, height=image.height,
                              pixels_sha256=pixels[image.id]) for image, name in zip(suite.coco.images, names, strict=True)],
    )
    with staged_dir(out, force) as staging:
        (staging / "images").mkdir()
        for image in suite.coco.images:
            source = Path(suite.image_path(image.id))
            shutil.copyfile(source, staging / "images" / source.name)
        atomic_write_json(staging / EXPORT_INDEX, export.model_dump(mode="json"))
        atomic_write_text(staging / "README.md", CONTRACT.format(
            suite=suite.name, version=suite.version, sha=suite.manifest_sha256, count=len(export.images),
            results=RESULTS_FILE, description=DESCRIPTION_FILE))
    return export
