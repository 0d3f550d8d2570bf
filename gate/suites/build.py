"""Building a suite: spec + source -> rendered images in the cache + a sealed manifest in suites/.

Order of work, so that nothing stored is damaged on any error:
1. validate the spec; if this name/version was built before from a different spec, refuse;
2. open the source (checking its annotations hash), select, map the taxonomy, resolve the chain;
3. render every image into a staging folder beside the cache folder;
4. if a manifest for this version exists, the new content must equal it (else refuse: the source or
   a generator changed, so the version must be bumped); an equal rebuild leaves the file untouched;
5. only then swap the staging folder in as the cache and write `spec.yaml` + `manifest.json`
   through a staged folder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import PIL
import scipy

from gate import __version__
from gate.data.coco import CocoImage
from gate.errors import InputError, IntegrityError, RefusedError
from gate.storage import atomic_write_bytes, sha256_bytes, sha256_file, staged_dir
from gate import locations
from gate.suites.manifest import (
    MANIFEST_FILE,
    SPEC_FILE,
    ManifestAnnotation,
    ManifestCounts,
    ManifestImage,
    ManifestSelection,
    ManifestSource,
    SuiteManifest,
    check_content_hash,
    manifest_text,
    pixels_sha256,
    read_manifest,
)
from gate.suites.render import ResolvedStep, encode_png, image_seed, load_pixels, read_depth, render
from gate.suites.selection import sample_ids, select_candidates
from gate.data.sequence import SequenceFrame, SequenceTable, build_sequence_table
from gate.suites.source import Announce, SourceData, open_source, recorded_dataset_path
from gate.stages import timed
from gate.suites.spec import LoadedSpec, load_spec
from gate.suites.taxonomy import EvaluationTaxonomy, resolve_taxonomy, source_category_table
from gate.suites.transforms.registry import get_transform, transform_versions

Progress = Callable[[int, int], None]


@dataclass
class PlannedImage:
    """An image the suite keeps, with its annotations after selection and taxonomy (before rendering)."""

    image: CocoImage
    tags: dict
    annotations: list[ManifestAnnotation]


@dataclass
class SuitePlan:
    loaded: LoadedSpec
    source: SourceData
    taxonomy: EvaluationTaxonomy
    steps: list[ResolvedStep]
    images: list[PlannedImage]
    selection: ManifestSelection
    dropped_by_taxonomy: int
    sequence: SequenceTable | None = None
    recorded_dataset: str | None = None  # the dataset path the manifest records (relative to its folder)


@dataclass
class BuildReport:
    name: str
    version: str
    suite_dir: Path
    manifest_path: Path
    manifest_sha256: str
    render_dir: Path
    images: int
    boxes: int
    ignore_regions: int
    rendered: int
    unchanged: bool = False
    notes: list[str] = field(default_factory=list)


def resolve_steps(loaded: LoadedSpec) -> list[ResolvedStep]:
    steps = []
    for step in loaded.spec.transforms:
        family = get_transform(step.name)  # the spec validator already proved the name and values
        steps.append(ResolvedStep(family, step.severity, family.resolve(step.severity, step.params)))
    return steps


def plan_suite(loaded: LoadedSpec, source: SourceData) -> SuitePlan:
    """Selection and taxonomy applied to the source: which images, which boxes, scored as what."""
    spec = loaded.spec
    coco = source.dataset.coco
    taxonomy = resolve_taxonomy(spec.taxonomy, coco.categories, loaded.path)
    table = source_category_table(taxonomy, coco.categories)
    outcome = select_candidates(spec.selection, coco, loaded.path)
    conditions = spec.selection.image_conditions()
    kept: dict[int, PlannedImage] = {}
    dropped = 0
    ignored_as = spec.taxonomy.ignored if spec.taxonomy is not None else "region"
    category_ids = [c.id for c in taxonomy.categories]
    # Ignore regions of ignored classes get ids after every source id: stable across builds.
    next_region_id = max((a.id for a in coco.annotations), default=0) + 1
    for candidate in outcome.candidates:
        annotations = []
        selected = 0
        for choice in candidate.boxes:
            ann = choice.annotation
            target = table.get(ann.category_id)
            if target is None:
                if ignored_as == "drop":
                    dropped += 1  # not scored, not an ignore region either
                    continue
                regions = ignore_regions_for_every_category(ann, category_ids, next_region_id)
                next_region_id += len(regions)
                annotations.extend(regions)
                continue
            ignore = not choice.selected
            x, y, w, h = ann.bbox
            annotations.append(ManifestAnnotation(
                id=ann.id, category_id=target, bbox=[x, y, w, h], area=ann.area if ann.area is not None else w * h,
                iscrowd=1 if ignore else 0, ignore=ignore, attributes=dict(ann.attributes),
                source_category_id=ann.category_id,
            ))
            selected += choice.selected
        # A sequence suite keeps every frame of a drive, with or without a sign in it.
        if selected == 0 and spec.selection.negatives == "drop" and spec.kind != "sequence":
            continue
        image = candidate.image
        tags = dict(image.tags)
        for key in conditions:
            if key not in tags and image.tag(key) is not None:
                tags[key] = image.tag(key)
        kept[image.id] = PlannedImage(image, tags, annotations)
    if not kept:
        raise InputError("selection matches nothing: no image keeps a selected box "
                         "(loosen the box criteria or set selection.negatives: keep)", path=loaded.path)
    chosen = sample_ids(list(kept), spec.seed, spec.selection.max_images)
    selection = ManifestSelection(
        image_conditions=conditions,
        images_matching_tags=len(outcome.candidates),
        classes=outcome.classes,
        rare_classes=outcome.rare_classes,
        rare_reference_counts={str(k): v for k, v in outcome.rare_counts.items()},
        sampled_from=len(kept),
    )
    images = [kept[i] for i in chosen]
    sequence = None
    if spec.kind == "sequence":
        frames = [SequenceFrame(p.image.id, p.tags,
                                [(a.id, a.category_id, a.attributes, a.ignore) for a in p.annotations]) for p in images]
        sequence = build_sequence_table(frames, coco.info.get("drives"), source.dataset.annotations_path)
    return SuitePlan(loaded, source, taxonomy, resolve_steps(loaded), images, selection, dropped, sequence)


def drive_seeds(plan: SuitePlan) -> dict[int, int]:
    """Per image, the transform seed: in a sequence suite every frame of a drive shares its drive's seed
    (night, rain and fog stay the same along the drive), else each image has its own."""
    spec = plan.loaded.spec
    if plan.sequence is None:
        return {p.image.id: image_seed(spec.seed, p.image.id) for p in plan.images}
    return {i: image_seed(spec.seed, d.image_ids[0]) for d in plan.sequence.drives for i in d.image_ids}


def ignore_regions_for_every_category(ann, category_ids: list[int], first_id: int) -> list[ManifestAnnotation]:
    """A box of a class the taxonomy ignores, as one crowd region per evaluation category.

    COCO crowd regions only absorb detections of their own category, and a model may call an
    unmapped sign anything, so the region is repeated for every category: a detection of any class
    on it is then neither a true nor a false positive (pycocotools gives the same numbers).
    """
    x, y, w, h = ann.bbox
    area = ann.area if ann.area is not None else w * h
    return [ManifestAnnotation(id=first_id + k, category_id=category_id, bbox=[x, y, w, h], area=area, iscrowd=1,
                               ignore=True, attributes={**ann.attributes, "ignored_class": True},
                               source_category_id=ann.category_id)
            for k, category_id in enumerate(category_ids)]


def generator_versions(source_kind: str) -> dict[str, str]:
    versions = {"numpy": np.__version__, "pillow": PIL.__version__, "scipy": scipy.__version__}
    versions.update({f"transform.{name}": v for name, v in transform_versions().items()})
    if source_kind == "synth":
        from gate.data.synth import WORLD_VERSION

        versions["world"] = WORLD_VERSION
    if source_kind == "drives":
        from gate.data.synth.drive import DRIVE_VERSION

        versions["drive"] = DRIVE_VERSION
    return versions


def rendered_name(image_id: int) -> str:
    return f"{image_id:07d}.png"


def _merge_attributes(annotation: ManifestAnnotation, values: dict) -> None:
    annotation.attributes.update(values)
    if "occluded_pasted" in values:
        prior = annotation.attributes.get("occluded", 0.0)
        prior = prior if isinstance(prior, int | float) and not isinstance(prior, bool) else 0.0
        annotation.attributes["occluded"] = max(float(prior), float(values["occluded_pasted"]))


@timed("suite render")
def render_plan(plan: SuitePlan, out_dir: Path, progress: Progress | None = None) -> list[ManifestImage]:
    """Render every planned image into `out_dir` (when the chain is not empty) and describe it."""
    dataset = plan.source.dataset
    entries = []
    seeds = drive_seeds(plan)
    for done, planned in enumerate(plan.images, start=1):
        image = planned.image
        path = dataset.image_path(image)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InputError("source image not found", path=path) from None
        pixels = load_pixels(path)
        if pixels.shape[:2] != (image.height, image.width):
            raise InputError(f"image is {pixels.shape[1]}x{pixels.shape[0]} but annotations.json says "
                             f"{image.width}x{image.height}", path=path)
        seed = seeds[image.id]
        annotations = [a.model_copy(deep=True) for a in planned.annotations]
        depth_file = None
        rendered_file = None
        records = []
        served = pixels
        if plan.steps:
            depth = None
            if any(getattr(s.params, "depth", None) == "map" for s in plan.steps):
                depth_file = image.tag("depth_file")
                if not isinstance(depth_file, str):
                    raise InputError(f"fog depth: map needs a `depth_file` field on image {image.id}", path=path)
                depth = read_depth(dataset.root / depth_file)
            boxes = [(a.bbox[0], a.bbox[1], a.bbox[0] + a.bbox[2], a.bbox[1] + a.bbox[3]) for a in annotations]
            result = render(pixels, boxes, plan.steps, seed, depth, where=path)
            for index, values in result.box_attributes.items():
                _merge_attributes(annotations[index], values)
            served = result.pixels
            records = result.transforms
            rendered_file = rendered_name(image.id)
            atomic_write_bytes(out_dir / rendered_file, encode_png(served))
        entries.append(ManifestImage(
            id=image.id, file_name=rendered_file or Path(image.file_name).name, width=image.width,
            height=image.height, tags=planned.tags, source_file=image.file_name, source_sha256=sha256_bytes(data),
            source_pixels_sha256=pixels_sha256(pixels), seed=seed, transforms=records, rendered_file=rendered_file,
            pixels_sha256=pixels_sha256(served), depth_file=depth_file, annotations=annotations,
        ))
        if progress is not None:
            progress(done, len(plan.images))
    return entries


def assemble_manifest(plan: SuitePlan, entries: list[ManifestImage]) -> SuiteManifest:
    spec = plan.loaded.spec
    boxes = sum(1 for e in entries for a in e.annotations if not a.ignore)
    # An ignored class's box is one region repeated per category (see ignore_regions_for_every_category).
    ignored = sum(1 for e in entries for a in e.annotations if a.ignore and not a.attributes.get("ignored_class"))
    ignored += len({(e.id, a.source_category_id, tuple(a.bbox)) for e in entries for a in e.annotations
                    if a.ignore and a.attributes.get("ignored_class")})
    negatives = sum(1 for e in entries if not any(not a.ignore for a in e.annotations))
    synth = spec.source.synth.model_dump(mode="json") if spec.source.synth is not None else None
    drives = spec.source.drives.model_dump(mode="json") if spec.source.drives is not None else None
    return SuiteManifest(
        name=spec.name,
        version=spec.version,
        description=spec.description,
        spec_sha256=plan.loaded.sha256,
        tsrgate_version=__version__,
        generators=generator_versions(plan.source.kind),
        seed=spec.seed,
        source=ManifestSource(kind=plan.source.kind, dataset=plan.recorded_dataset, env=spec.source.env, synth=synth,
                              drives=drives,
                              annotations_sha256=plan.source.annotations_sha256,
                              images_in_source=len(plan.source.dataset.coco.images)),
        selection=plan.selection,
        transforms=[s.record() for s in plan.steps],
        taxonomy=plan.taxonomy,
        counts=ManifestCounts(images=len(entries), boxes=boxes, ignore_regions=ignored, negative_images=negatives,
                              boxes_dropped_by_taxonomy=plan.dropped_by_taxonomy),
        images=entries,
        sequence=plan.sequence,
    ).sealed()


# Fields that may change without changing what the suite is (tool versions that rendered it).
_PROVENANCE_ONLY = ("tsrgate_version", "generators", "content_sha256")


def first_difference(old: SuiteManifest, new: SuiteManifest) -> str | None:
    """A short description of the first content difference, ignoring tool versions; None if equal."""
    a = old.model_dump(mode="json")
    b = new.model_dump(mode="json")
    for key in a:
        if key in _PROVENANCE_ONLY or a[key] == b.get(key):
            continue
        if key == "images":
            ids_a = [i["id"] for i in a["images"]]
            ids_b = [i["id"] for i in b["images"]]
            if ids_a != ids_b:
                return f"the selected images differ ({len(ids_a)} recorded, {len(ids_b)} now)"
            for ia, ib in zip(a["images"], b["images"], strict=True):
                if ia != ib:
                    fields = [k for k in ia if ia[k] != ib.get(k)]
                    return f"image {ia['id']} differs in {', '.join(fields)}"
        return f"'{key}' differs"
    return None


def existing_manifest(target: Path, loaded: LoadedSpec) -> SuiteManifest | None:
    """The manifest already built for this name/version, refusing if it came from another spec."""
    path = target / MANIFEST_FILE
    if not path.exists():
        return None
    manifest = read_manifest(path)
    try:
        check_content_hash(manifest, path)
    except IntegrityError:
        raise RefusedError("the existing manifest fails its content hash (edited by hand or corrupted); "
                           "restore it (git checkout) before rebuilding", path=path) from None
    if manifest.spec_sha256 != loaded.sha256:
        raise RefusedError(
            f"suite {manifest.name} version {manifest.version} was built from a different spec "
            f"(spec sha256 {manifest.spec_sha256[:12]}, this one {loaded.sha256[:12]}); "
            "bump `version` to change a suite", path=loaded.path)
    return manifest


def build_suite(spec_path: str | Path, data: str | Path | None = None, cache: str | Path | None = None,
                suites: str | Path | None = None, progress: Progress | None = None,
                announce: Announce | None = None) -> BuildReport:
    """Build (or rebuild and confirm) the suite a spec describes; see the module docstring.

    `progress(done, total)` is called per rendered image, `announce(text)` before long steps.
    """
    loaded = load_spec(spec_path)
    spec = loaded.spec
    root = locations.suites_root(suites)
    cache_root = locations.cache_root(cache)
    target = locations.suite_dir(root, spec.name, spec.version)
    previous = existing_manifest(target, loaded)
    spec_bytes = Path(spec_path).read_bytes()

    source = open_source(spec.source, cache_root, data, announce=announce, base=Path(spec_path).parent)
    plan = plan_suite(loaded, source)
    plan.recorded_dataset = recorded_dataset_path(spec.source, Path(spec_path).parent, target)
    final_render = locations.render_dir(cache_root, spec.name, spec.version)
    with staged_dir(final_render, force=True) as staging:
        entries = render_plan(plan, staging, progress)
        manifest = assemble_manifest(plan, entries)
        unchanged = False
        if previous is not None:
            difference = first_difference(previous, manifest)
            if difference is not None:
                raise RefusedError(
                    f"rebuilding {spec.name} version {spec.version} from the same spec gives different content "
                    f"({difference}): the source data or a generator changed; bump `version`",
                    path=target / MANIFEST_FILE)
            unchanged = True
    manifest_path = target / MANIFEST_FILE
    if unchanged:
        # Same content: the committed file stays byte for byte as it is (tool versions included).
        if not (target / SPEC_FILE).exists():
            atomic_write_bytes(target / SPEC_FILE, spec_bytes)
    else:
        with staged_dir(target, force=True) as stage:
            (stage / SPEC_FILE).write_bytes(spec_bytes)
            (stage / MANIFEST_FILE).write_text(manifest_text(manifest), encoding="utf-8")
    shown = previous if unchanged else manifest
    return BuildReport(
        name=spec.name, version=spec.version, suite_dir=target, manifest_path=manifest_path,
        manifest_sha256=sha256_file(manifest_path), render_dir=final_render,
        images=shown.counts.images, boxes=shown.counts.boxes, ignore_regions=shown.counts.ignore_regions,
        rendered=sum(1 for e in shown.images if e.rendered_file), unchanged=unchanged,
    )
