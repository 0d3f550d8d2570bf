"""`open_suite`: what the gate and every later stage use to get a suite's verified images and labels.

Opening a suite loads its manifest (refusing one whose content hash fails or whose spec beside it
changed), finds the source, makes sure every rendered image is in the cache (rendering missing ones
from the source and checking the result against the manifest), and checks the sha256 of every
image's pixels before handing out paths. A file that changed on disk is an IntegrityError naming it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gate.stages import stage, timed
from gate.data.coco import CocoDataset
from gate.data.dataset import IMAGES_DIR, LoadedImage
from gate.errors import InputError, IntegrityError
from gate.storage import atomic_write_bytes, sha256_bytes, sha256_file
from gate import locations
from gate.suites.catalog import find_suite
from gate.suites.manifest import MANIFEST_FILE, SPEC_FILE, ManifestImage, SuiteManifest, load_manifest, pixels_sha256
from gate.suites.render import encode_png, load_pixels, read_depth, render, steps_from_manifest
from gate.suites.source import Announce, SourceData, open_source
from gate.suites.spec import SuiteSource, load_spec
from gate.suites.taxonomy import EvaluationTaxonomy


@dataclass
class ResolvedSuite:
    """A suite ready to evaluate: manifest, COCO annotations (after selection/taxonomy), verified image paths."""

    name: str
    version: str
    manifest: SuiteManifest
    manifest_path: Path
    manifest_sha256: str  # identifies the suite to the gate
    coco: CocoDataset
    image_paths: dict[int, Path]

    @property
    def taxonomy(self) -> EvaluationTaxonomy:
        return self.manifest.taxonomy

    def image_path(self, image_id: int) -> Path:
        return self.image_paths[image_id]

    def model_category_id(self, model_class: str) -> int | None:
        """Evaluation category of a predicted class name (None = ignored); see EvaluationTaxonomy."""
        return self.manifest.taxonomy.model_category_id(model_class)

    def iter_images(self) -> Iterator[LoadedImage]:
        """Images one at a time, in manifest order, with their annotations and RGB pixels."""
        by_image = self.coco.annotations_by_image()
        for image in self.coco.images:
            yield LoadedImage(image, by_image.get(image.id, []), load_pixels(self.image_paths[image.id]))

    def __len__(self) -> int:
        return len(self.coco.images)


def manifest_source(manifest: SuiteManifest) -> SuiteSource:
    return SuiteSource(dataset=manifest.source.dataset, env=manifest.source.env, synth=manifest.source.synth,
                       drives=manifest.source.drives)


def check_spec_beside(manifest: SuiteManifest, folder: Path) -> None:
    """A spec.yaml next to the manifest must be the one it was built from."""
    spec_path = folder / SPEC_FILE
    if spec_path.exists():
        loaded = load_spec(spec_path)
        if loaded.sha256 != manifest.spec_sha256:
            raise IntegrityError(f"spec changed since the suite was built (sha256 {loaded.sha256[:12]}, manifest "
                                 f"records {manifest.spec_sha256[:12]}); bump `version` and rebuild", path=spec_path)


def render_entry(entry: ManifestImage, manifest: SuiteManifest, source: SourceData, where: Path) -> np.ndarray:
    """Re-render one image from the manifest alone (the source is checked by hash first)."""
    path = source.dataset.root / IMAGES_DIR / entry.source_file
    pixels = load_pixels(path)
    if pixels_sha256(pixels) != entry.source_pixels_sha256:
        raise IntegrityError("source image differs from the one the suite was built from", path=path)
    steps = steps_from_manifest(manifest.transforms, where)
    depth = read_depth(source.dataset.root / entry.depth_file) if entry.depth_file else None
    boxes = [(a.bbox[0], a.bbox[1], a.bbox[0] + a.bbox[2], a.bbox[1] + a.bbox[3]) for a in entry.annotations]
    return render(pixels, boxes, steps, entry.seed, depth, where=path).pixels


def open_suite(name_or_path: str | Path, version: str | None = None, cache: str | Path | None = None,
               suites: str | Path | None = None, data: str | Path | None = None, verify: bool = True,
               announce: Announce | None = None) -> ResolvedSuite:
    """Open a suite by name (latest version unless given) or folder, rendering and verifying its images.

    `data` points at the source dataset (or world) when it is not where the spec says.
    With `verify=False` rendered files are only checked for presence (for listing-like uses).
    `announce(text)` is told before long steps (generating the world, rendering missing images).
    """
    folder = find_suite(name_or_path, version, suites)
    manifest_path = folder / MANIFEST_FILE
    manifest = load_manifest(manifest_path)
    check_spec_beside(manifest, folder)
    cache_root = locations.cache_root(cache)
    source = open_source(manifest_source(manifest), cache_root, data,
                         expected_annotations_sha256=manifest.source.annotations_sha256, announce=announce,
                         base=folder)
    render_folder = locations.render_dir(cache_root, manifest.name, manifest.version)
    missing = sum(1 for e in manifest.images if e.rendered_file and not (render_folder / e.rendered_file).is_file())
    if missing and announce is not None:
        announce(f"rendering {missing} missing images of {manifest.name} v{manifest.version} into {render_folder}")
    paths: dict[int, Path] = {}
    names: dict[int, str] = {}
    checked = VerifiedRenders(render_folder) if verify else None
    for entry in manifest.images:
        if entry.rendered_file is None:
            path = source.dataset.root / IMAGES_DIR / entry.source_file
            if not path.is_file():
                raise InputError("source image not found (the suite's dataset folder is incomplete)", path=path)
            with stage("suite verify"):
                differs = verify and sha256_file(path) != entry.source_sha256 and \
                    pixels_sha256(load_pixels(path)) != entry.pixels_sha256
            if differs:
                raise IntegrityError("source image differs from the one the suite was built from", path=path)
        else:
            path = render_folder / entry.rendered_file
            if not path.is_file():
                with stage("suite render"):
                    pixels = render_entry(entry, manifest, source, manifest_path)
                if pixels_sha256(pixels) != entry.pixels_sha256:
                    raise IntegrityError(f"re-rendering image {entry.id} does not reproduce the manifest's pixels "
                                         "(a generator or library changed)", path=path)
                encoded = encode_png(pixels)
                atomic_write_bytes(path, encoded)
                if checked is not None:
                    checked.remember(entry.rendered_file, sha256_bytes(encoded), entry.pixels_sha256)
            elif checked is not None and not checked.matches(path, entry.rendered_file, entry.pixels_sha256):
                raise IntegrityError("rendered image does not match the manifest (changed on disk); delete it to "
                                     "have it re-rendered, or run `tsrgate suite verify`", path=path)
        paths[entry.id] = path
        names[entry.id] = path.name
    if checked is not None:
        checked.save()
    return ResolvedSuite(
        name=manifest.name, version=manifest.version, manifest=manifest, manifest_path=manifest_path,
        manifest_sha256=sha256_file(manifest_path), coco=manifest.to_coco(names), image_paths=paths,
    )


class VerifiedRenders:
    """Which rendered files were already decoded and found to hold the manifest's pixels, by file hash.

    Checking a rendered image means decoding it and hashing its pixels; a warm gate does that for every
    image of every suite. The render folder keeps `verified-renders.json`: rendered file -> (sha256 of
    the file's bytes, sha256 of its pixels) as last decoded. A file whose bytes hash the same as then
    holds the same pixels, so only the byte hash is recomputed; any change to the file's bytes sends it
    back through the full decode. The record is a cache, never trusted for a file it does not match."""

    FILE = "verified-renders.json"

    def __init__(self, folder: Path):
        from gate.inputs import read_structured

        self.path = folder / self.FILE
        self.known: dict[str, list[str]] = {}
        self.changed = False
        if self.path.is_file():
            try:
                loaded = read_structured(self.path)
            except InputError:
                loaded = None  # a damaged record only costs a full check
            if isinstance(loaded, dict):
                self.known = {k: v for k, v in loaded.items() if isinstance(v, list) and len(v) == 2}

    @timed("suite verify")
    def matches(self, path: Path, name: str, pixels_sha256_expected: str) -> bool:
        file_sha = sha256_file(path)
        if self.known.get(name) == [file_sha, pixels_sha256_expected]:
            return True
        if pixels_sha256(load_pixels(path)) != pixels_sha256_expected:
            return False
        self.remember(name, file_sha, pixels_sha256_expected)
        return True

    def remember(self, name: str, file_sha: str, pixels_sha: str) -> None:
        self.known[name] = [file_sha, pixels_sha]
        self.changed = True

    def save(self) -> None:
        if self.changed:
            from gate.storage import atomic_write_json

            try:
                atomic_write_json(self.path, dict(sorted(self.known.items())))
            except (OSError, InputError):
                pass  # a read-only cache: the next check decodes again, nothing is wrong


def category_table(suite: ResolvedSuite, class_names: Sequence[str]) -> dict[int, int]:
    """Model label index -> the suite's evaluation category id (labels the taxonomy ignores are left out)."""
    table = suite.taxonomy.model_class_table(list(class_names))
    return {label: table[name] for label, name in enumerate(class_names) if table[name] is not None}
