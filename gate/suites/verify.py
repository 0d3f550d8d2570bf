"""`suite verify`: recompute every hash a suite depends on and name each file that does not match.

Checks, in order: the manifest's own content hash (a hand edit), the spec beside it, the source
annotations file, every source image (bytes, or pixels when only the encoding differs), every
rendered image in the cache (a missing one is re-rendered and must reproduce the manifest), and the
annotations re-derived from spec + source (so an edit that also recomputed the content hash is
still caught, and the finding names the image). With `rerender`, every image is rendered again and
compared, which proves the suite reproduces on this machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gate.data.dataset import IMAGES_DIR
from gate.errors import GateError, IntegrityError
from gate.storage import atomic_write_bytes, sha256_file
from gate import locations
from gate.suites.build import plan_suite
from gate.suites.catalog import find_suite
from gate.suites.manifest import (
    MANIFEST_FILE,
    SPEC_FILE,
    TRANSFORM_ATTRIBUTES,
    ManifestAnnotation,
    SuiteManifest,
    check_content_hash,
    pixels_sha256,
    read_manifest,
)
from gate.suites.render import encode_png, load_pixels
from gate.suites.resolved import manifest_source, render_entry
from gate.suites.source import Announce, open_source
from gate.suites.spec import load_spec


@dataclass(frozen=True)
class VerifyFinding:
    path: str
    problem: str

    def line(self) -> str:
        return f"mismatch: {self.path}: {self.problem}"


@dataclass
class SuiteVerification:
    name: str
    version: str
    manifest_path: Path
    manifest_sha256: str
    images_checked: int = 0
    rendered_checked: int = 0
    re_rendered: int = 0
    findings: list[VerifyFinding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, path: str | Path, problem: str) -> None:
        self.findings.append(VerifyFinding(str(path), problem))


def _scored_fields(annotation: ManifestAnnotation) -> dict:
    """What selection and taxonomy decide about a box (attributes written by transforms left out)."""
    attributes = {k: v for k, v in annotation.attributes.items() if k not in TRANSFORM_ATTRIBUTES and k != "occluded"}
    return {"id": annotation.id, "category_id": annotation.category_id, "bbox": annotation.bbox,
            "iscrowd": annotation.iscrowd, "ignore": annotation.ignore, "source": annotation.source_category_id,
            "attributes": attributes}


def _check_derivation(report: SuiteVerification, manifest: SuiteManifest, folder: Path, source) -> None:
    spec_path = folder / SPEC_FILE
    if not spec_path.exists():
        return
    loaded = load_spec(spec_path)
    if loaded.sha256 != manifest.spec_sha256:
        return  # already reported; re-deriving from another spec would only add noise
    plan = plan_suite(loaded, source)
    planned = {p.image.id: p for p in plan.images}
    recorded = {e.id: e for e in manifest.images}
    for image_id in sorted(set(planned) - set(recorded)):
        report.add(report.manifest_path, f"image {image_id} is selected by the spec but missing from the manifest")
    for image_id in sorted(set(recorded) - set(planned)):
        report.add(report.manifest_path, f"image {image_id} is in the manifest but not selected by the spec")
    for image_id in sorted(set(planned) & set(recorded)):
        want = [_scored_fields(a) for a in planned[image_id].annotations]
        have = [_scored_fields(a) for a in recorded[image_id].annotations]
        if want != have:
            report.add(report.manifest_path,
                       f"image {image_id}: annotations differ from the spec applied to the source")


def verify_suite(name_or_path: str | Path, version: str | None = None, cache: str | Path | None = None,
                 suites: str | Path | None = None, data: str | Path | None = None,
                 rerender: bool = False, announce: Announce | None = None) -> SuiteVerification:
    """Check a suite end to end; problems become findings (the command exits 1 when there are any)."""
    folder = find_suite(name_or_path, version, suites)
    manifest_path = folder / MANIFEST_FILE
    manifest = read_manifest(manifest_path)
    report = SuiteVerification(manifest.name, manifest.version, manifest_path, sha256_file(manifest_path))
    try:
        check_content_hash(manifest, manifest_path)
    except IntegrityError as exc:
        report.add(manifest_path, exc.problem)
    spec_path = folder / SPEC_FILE
    if spec_path.exists():
        try:
            loaded = load_spec(spec_path)
            if loaded.sha256 != manifest.spec_sha256:
                report.add(spec_path, f"spec sha256 {loaded.sha256[:12]} but the manifest records "
                                      f"{manifest.spec_sha256[:12]} (spec edited without a version bump)")
        except GateError as exc:
            report.add(spec_path, exc.problem)

    cache_root = locations.cache_root(cache)
    try:
        source = open_source(manifest_source(manifest), cache_root, data,
                             expected_annotations_sha256=manifest.source.annotations_sha256, announce=announce)
    except IntegrityError as exc:
        report.add(exc.path or manifest_path, exc.problem)
        source = open_source(manifest_source(manifest), cache_root, data)
    render_folder = locations.render_dir(cache_root, manifest.name, manifest.version)

    for entry in manifest.images:
        report.images_checked += 1
        source_path = source.dataset.root / IMAGES_DIR / entry.source_file
        if not source_path.is_file():
            report.add(source_path, "source image not found")
            continue
        if sha256_file(source_path) != entry.source_sha256:
            if pixels_sha256(load_pixels(source_path)) != entry.source_pixels_sha256:
                report.add(source_path, "source image differs from the one the suite was built from")
                continue
        if entry.rendered_file is None:
            continue
        rendered_path = render_folder / entry.rendered_file
        if rendered_path.is_file():
            report.rendered_checked += 1
            if pixels_sha256(load_pixels(rendered_path)) != entry.pixels_sha256:
                report.add(rendered_path, f"rendered image pixels differ from the manifest (image {entry.id})")
                continue
            if not rerender:
                continue
        try:
            pixels = render_entry(entry, manifest, source, manifest_path)
        except GateError as exc:
            report.add(exc.path or manifest_path, exc.problem)
            continue
        report.re_rendered += 1
        if pixels_sha256(pixels) != entry.pixels_sha256:
            report.add(rendered_path, f"re-rendering image {entry.id} does not reproduce the manifest's pixels")
        elif not rendered_path.is_file():
            atomic_write_bytes(rendered_path, encode_png(pixels))  # fill the cache with a proven render
    _check_derivation(report, manifest, folder, source)
    return report
