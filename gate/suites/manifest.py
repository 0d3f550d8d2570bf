"""The suite manifest: the frozen, hash-locked record of a suite version (committed to git).

Per image it records the source file with the sha256 of its bytes and of its decoded pixels, the
per-image seed and what each transform drew, the rendered file name and the sha256 of the pixels the
model is shown, and the annotations after selection and taxonomy. Around that: the spec's sha256,
the tsrgate and generator versions, the resolved transform parameters and the evaluation taxonomy.

Pixel hashes (`pixels_sha256`) are taken over the decoded RGB array rather than the PNG bytes, so a
different zlib build writing the same pixels still verifies, while one changed pixel does not.
`content_sha256` covers everything else in the file: a manifest edited by hand no longer matches it.
The sha256 of the manifest file itself identifies the suite to the gate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from gate.data.coco import AttributeValue, CocoAnnotation, CocoDataset, CocoImage, TagValue
from gate.errors import InputError, IntegrityError
from gate.inputs import parse_json, read_text, validate
from gate.storage import canonical_json, dump_json, sha256_bytes
from gate.data.sequence import SequenceTable
from gate.suites.taxonomy import EvaluationTaxonomy

MANIFEST_FORMAT = "tsrgate-suite-manifest/1"
MANIFEST_FILE = "manifest.json"
SPEC_FILE = "spec.yaml"
# Attributes a transform writes (not part of the source's annotations); verification that re-derives
# annotations from the source leaves them out.
TRANSFORM_ATTRIBUTES = ("occluded_pasted", "occluder", "occluder_target", "fog_depth_m")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def pixels_sha256(pixels: np.ndarray) -> str:
    """sha256 over 'HxWxC:dtype:' followed by the raw bytes of a C-contiguous uint8 array."""
    array = np.ascontiguousarray(pixels)
    header = f"{'x'.join(str(d) for d in array.shape)}:{array.dtype.str}:".encode()
    return sha256_bytes(header + array.tobytes())


class ManifestTransform(_Strict):
    """One step of the chain, as resolved from the spec (same for every image)."""

    name: str
    version: str
    severity: int
    params: dict[str, Any]


class ImageTransformRecord(_Strict):
    """What one transform drew for one image (positions, angles...), for the record."""

    name: str
    drawn: dict[str, Any] = Field(default_factory=dict)


class ManifestAnnotation(_Strict):
    id: int
    category_id: int
    bbox: list[float] = Field(min_length=4, max_length=4)
    area: float
    iscrowd: int = 0
    ignore: bool = False
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    source_category_id: int

    def to_coco(self, image_id: int) -> CocoAnnotation:
        return CocoAnnotation(id=self.id, image_id=image_id, category_id=self.category_id, bbox=list(self.bbox),
                              area=self.area, iscrowd=self.iscrowd, ignore=self.ignore,
                              attributes=dict(self.attributes))


class ManifestImage(_Strict):
    id: int
    file_name: str = Field(description="name the suite serves the image under")
    width: int
    height: int
    tags: dict[str, TagValue] = Field(default_factory=dict)
    source_file: str = Field(description="path inside the source dataset's images/ folder")
    source_sha256: str
    source_pixels_sha256: str
    seed: int
    transforms: list[ImageTransformRecord] = Field(default_factory=list)
    rendered_file: str | None = Field(None, description="file in the render cache; None = the source file as is")
    pixels_sha256: str = Field(description="sha256 of the pixels the model is shown")
    depth_file: str | None = None
    annotations: list[ManifestAnnotation]


class ManifestSource(_Strict):
    kind: str
    dataset: str | None = None
    env: str | None = None
    synth: dict[str, Any] | None = None
    drives: dict[str, Any] | None = None
    annotations_sha256: str
    images_in_source: int


class ManifestSelection(_Strict):
    image_conditions: dict[str, Any]
    images_matching_tags: int
    classes: list[int] | None = None
    rare_classes: list[int] | None = None
    rare_reference_counts: dict[str, int] = Field(default_factory=dict)
    sampled_from: int


class ManifestCounts(_Strict):
    images: int
    boxes: int
    ignore_regions: int
    negative_images: int
    boxes_dropped_by_taxonomy: int


class SuiteManifest(_Strict):
    format: str = MANIFEST_FORMAT
    name: str
    version: str
    description: str
    spec_sha256: str
    tsrgate_version: str
    generators: dict[str, str]
    seed: int
    source: ManifestSource
    selection: ManifestSelection
    transforms: list[ManifestTransform]
    taxonomy: EvaluationTaxonomy
    counts: ManifestCounts
    images: list[ManifestImage]
    sequence: SequenceTable | None = None  # sequence suites: drives, frames and sign tracks
    content_sha256: str = ""

    def body(self) -> dict[str, Any]:
        """Everything the content hash covers (the JSON form without `content_sha256`)."""
        data = self.model_dump(mode="json", exclude_none=True)
        data.pop("content_sha256")
        return data

    def compute_content_sha256(self) -> str:
        return sha256_bytes(canonical_json(self.body()))

    def sealed(self) -> SuiteManifest:
        return self.model_copy(update={"content_sha256": self.compute_content_sha256()})

    def to_coco(self, file_names: dict[int, str] | None = None) -> CocoDataset:
        """The suite's annotations as a COCO dataset (categories = the evaluation taxonomy)."""
        images = []
        annotations = []
        for entry in self.images:
            name = (file_names or {}).get(entry.id, entry.file_name)
            images.append(CocoImage(id=entry.id, file_name=name, width=entry.width, height=entry.height,
                                    tags=dict(entry.tags)))
            annotations.extend(a.to_coco(entry.id) for a in entry.annotations)
        info = {"suite": self.name, "suite_version": self.version, "spec_sha256": self.spec_sha256}
        return CocoDataset(info=info, images=images, annotations=annotations,
                           categories=self.taxonomy.coco_categories())


def manifest_text(manifest: SuiteManifest) -> str:
    """The exact file content (stable across runs: no timestamps, fixed key order)."""
    return dump_json(manifest.sealed().model_dump(mode="json", exclude_none=True))


def read_manifest(path: str | Path) -> SuiteManifest:
    """Parse and validate a manifest without checking its content hash (verification does that)."""
    path = Path(path)
    text = read_text(path, "suite manifest")
    try:
        raw = parse_json(text, path)
    except InputError as exc:  # a manifest is stored data: unreadable means corrupted
        raise IntegrityError(exc.problem, path=path) from None
    return validate(raw, SuiteManifest, path, "manifest", error=IntegrityError)


def load_manifest(path: str | Path) -> SuiteManifest:
    """Read a manifest and insist its content hash matches (a hand-edited manifest is refused)."""
    manifest = read_manifest(path)
    check_content_hash(manifest, path)
    return manifest


def check_content_hash(manifest: SuiteManifest, path: str | Path) -> None:
    actual = manifest.compute_content_sha256()
    if actual != manifest.content_sha256:
        raise IntegrityError(
            f"manifest content does not match its content_sha256 (recorded {manifest.content_sha256[:12]}, "
            f"computed {actual[:12]}): edited by hand or corrupted; rebuild it with `tsrgate suite build`",
            path=path,
        )
