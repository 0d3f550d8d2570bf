"""The failure gallery: image crops of a candidate's regressions against the baseline, per suite.

The examples come from `gate.eval.regression_examples` on the two sides' match records (torch, each
model at its own operating threshold): signs the baseline found and the candidate missed, new
confusions, new false positives. Images are read from where the suite keeps them (the render
cache, or the source dataset for untransformed images) and checked against the manifest's pixel
hash. Nothing is generated or re-rendered here: when the suite's cache is gone the gallery lists
the examples without pictures and says why.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from pathlib import Path

from gate.errors import GateError
from gate.report.evidence import VerdictEvidence
from gate.results.backend import REFERENCE_BACKEND

KIND_LABELS = {
    "missed": "missed: the baseline found it, the candidate did not",
    "new_confusion": "new confusion: read as another class",
    "new_false_positive": "new false positive",
}
KIND_ORDER = ("missed", "new_confusion", "new_false_positive")
GT_COLOUR = (22, 163, 74)
CANDIDATE_COLOUR = (220, 38, 38)
CROP_SIDE = 180  # longer side of a crop in the report, px


@dataclass
class GalleryItem:
    kind: str
    kind_label: str
    image_id: int
    file_name: str
    gt_class: str | None
    predicted_class: str | None
    score: float | None
    image_uri: str | None = None
    problem: str | None = None


@dataclass
class GallerySuite:
    suite: str
    found: dict[str, int] = field(default_factory=dict)  # examples found per kind (before the limit)
    items: list[GalleryItem] = field(default_factory=list)
    note: str | None = None


class SuiteImages:
    """Read-only access to a suite's images as the manifest the results were computed on describes them."""

    def __init__(self, provenance, cache: str | Path | None = None, suites_dir: str | Path | None = None,
                 data: str | Path | None = None):
        from gate import locations
        from gate.suites.catalog import find_suite
        from gate.suites.manifest import MANIFEST_FILE, load_manifest
        from gate.storage import sha256_file

        folder = Path(provenance.folder) if provenance.folder else None
        if folder is None or not (folder / MANIFEST_FILE).is_file():
            folder = find_suite(provenance.name, provenance.version, suites_dir)
        manifest_path = folder / MANIFEST_FILE
        if sha256_file(manifest_path) != provenance.manifest_sha256:
            raise GateError("the suite manifest on disk is not the one the results were computed on", path=manifest_path)
        self.manifest = load_manifest(manifest_path)
        self.folder = folder
        self.entries = {entry.id: entry for entry in self.manifest.images}
        self.cache = locations.cache_root(cache)
        self.render_dir = locations.render_dir(self.cache, self.manifest.name, self.manifest.version)
        self.data = data

    def path(self, image_id: int) -> Path:
        from gate.suites.resolved import manifest_source
        from gate.suites.source import source_root

        entry = self.entries[image_id]
        if entry.rendered_file is not None:
            return self.render_dir / entry.rendered_file
        source = manifest_source(self.manifest)
        return source_root(source, self.cache, self.data, self.folder) / "images" / entry.source_file

    def file_name(self, image_id: int) -> str:
        entry = self.entries.get(image_id)
        return entry.file_name if entry is not None else f"image {image_id}"

    def pixels(self, image_id: int):
        """RGB pixels verified against the manifest; raises GateError (with the reason) otherwise."""
        from gate.suites.manifest import pixels_sha256
        from gate.suites.render import load_pixels

        path = self.path(image_id)
        if not path.is_file():
            if self.entries[image_id].rendered_file is not None:
                raise GateError("image is not in the suite cache (`tsrgate suite verify` or a run re-renders it)",
                                path=path)
            raise GateError("source image is missing (dataset moved or not on this machine?)", path=path)
        pixels = load_pixels(path)
        if pixels_sha256(pixels) != self.entries[image_id].pixels_sha256:
            raise GateError("image differs from the one the suite was evaluated on", path=path)
        return pixels


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _xyxy(box: list[float]) -> tuple[float, float, float, float]:
    x, y, w, h = box
    return x, y, x + w, y + h


def crop_png(pixels, boxes: list[tuple[list[float], tuple[int, int, int], str]]) -> bytes:
    """A crop around the boxes (xywh) with each drawn and labelled, scaled so its longer side is CROP_SIDE."""
    from PIL import Image, ImageDraw

    height, width = pixels.shape[:2]
    corners = [_xyxy(b) for b, _, _ in boxes]
    x1, y1 = min(c[0] for c in corners), min(c[1] for c in corners)
    x2, y2 = max(c[2] for c in corners), max(c[3] for c in corners)
    pad = max(24.0, 0.75 * max(x2 - x1, y2 - y1))
    left, top = max(0, int(x1 - pad)), max(0, int(y1 - pad))
    right, bottom = min(width, int(x2 + pad + 1)), min(height, int(y2 + pad + 1))
    crop = Image.fromarray(pixels[top:bottom, left:right])
    scale = min(6.0, CROP_SIDE / max(crop.width, crop.height))
    size = (max(1, round(crop.width * scale)), max(1, round(crop.height * scale)))
    crop = crop.resize(size, Image.Resampling.BILINEAR if scale >= 1 else Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(crop)
    font = _font(11)
    for (bx1, by1, bx2, by2), (_, colour, label) in zip(corners, boxes, strict=True):
        rect = [(bx1 - left) * scale, (by1 - top) * scale, (bx2 - left) * scale, (by2 - top) * scale]
        draw.rectangle(rect, outline=colour, width=2)
        text = label if len(label) <= 28 else label[:27] + "…"
        tx, ty = rect[0], max(0.0, rect[1] - 13)
        if ty == 0.0 and rect[3] + 13 < crop.height:
            ty = rect[3] + 1  # no room above the box: label below it
        bbox = draw.textbbox((tx, ty), text, font=font)
        draw.rectangle(bbox, fill=(0, 0, 0))
        draw.text((tx, ty), text, fill=colour, font=font)
    # A 256-colour palette halves the size of a crop (reports with dozens of crops stay e-mailable)
    # and keeps the drawn boxes and labels sharp, unlike lossy JPEG.
    crop = crop.quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    buffer = io.BytesIO()
    crop.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _boxes(example) -> list[tuple[list[float], tuple[int, int, int], str]]:
    boxes = []
    if example.gt_bbox is not None:
        boxes.append((example.gt_bbox, GT_COLOUR, f"GT {example.gt_class}"))
    if example.predicted_bbox is not None:
        score = f" {example.score:.2f}" if example.score is not None else ""
        boxes.append((example.predicted_bbox, CANDIDATE_COLOUR, f"cand {example.predicted_class}{score}"))
    return boxes


def build_gallery(evidence: VerdictEvidence, *, per_kind: int = 3, backend: str = REFERENCE_BACKEND,
                  cache: str | Path | None = None, suites_dir: str | Path | None = None,
                  data: str | Path | None = None) -> list[GallerySuite]:
    """Per compared suite: the most confident regressions of each kind, with crops where the images are here."""
    from gate.eval import regression_examples

    cand, base = evidence.candidate, evidence.baseline
    out: list[GallerySuite] = []
    for suite_name in evidence.verdict.suites:
        section = GallerySuite(suite=suite_name)
        out.append(section)
        if not cand.available or not base.available:
            section.note = "; ".join(evidence.problems)
            continue
        cand_records, base_records = cand.match_records(suite_name, backend), base.match_records(suite_name, backend)
        if cand_records is None or base_records is None:
            section.note = f"{backend} did not run on this suite for both sides; no examples"
            continue
        examples = regression_examples(
            cand_records, base_records, candidate_threshold=cand.record.model.score_threshold,
            baseline_threshold=base.record.model.score_threshold, limit=max(per_kind, 1000),
        )
        for kind in KIND_ORDER:
            section.found[kind] = sum(1 for e in examples if e.kind == kind)
        shown = [e for kind in KIND_ORDER for e in [x for x in examples if x.kind == kind][:per_kind]]
        try:
            images = SuiteImages(cand.record.suite(suite_name), cache=cache, suites_dir=suites_dir, data=data)
        except (GateError, OSError) as exc:
            images = None
            section.note = f"images unavailable: {exc}"
        for example in shown:
            item = GalleryItem(
                kind=example.kind, kind_label=KIND_LABELS[example.kind], image_id=example.image_id,
                file_name=images.file_name(example.image_id) if images else f"image {example.image_id}",
                gt_class=example.gt_class, predicted_class=example.predicted_class, score=example.score,
            )
            if images is not None:
                try:
                    item.image_uri = png_data_uri(crop_png(images.pixels(example.image_id), _boxes(example)))
                except (GateError, OSError) as exc:
                    item.problem = str(exc)
            section.items.append(item)
        if section.items and all(item.problem for item in section.items):
            section.note = ("images unavailable: the suite's images are not here (suite cache gone?); "
                            f"first problem: {section.items[0].problem}")
    return out
