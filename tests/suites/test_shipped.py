"""The suites shipped in suites/: specs valid, manifests sealed, synthetic ones reproducible from the generator.

Regenerating the whole 1,500-image world and re-rendering every suite takes minutes
(`tsrgate suite verify NAME --rerender` with an empty cache does it); here a few images per synthetic
suite are rendered from the world generator alone and must hash exactly as the manifest says, source
and rendered pixels both.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from gate.storage import sha256_bytes
from gate import locations
from gate.suites.catalog import suite_names, suite_versions
from gate.suites.manifest import MANIFEST_FILE, SPEC_FILE, load_manifest, pixels_sha256
from gate.suites.render import render, steps_from_manifest
from gate.suites.spec import load_spec

SUITES = locations.repo_root() / "suites"
SYNTHETIC = ["clean", "night", "rain", "fog", "occlusion", "small", "rare", "region-us"]
GTSDB = ["gtsdb-clean", "gtsdb-night", "gtsdb-rain", "gtsdb-fog", "gtsdb-occlusion", "gtsdb-small", "gtsdb-rare"]
ITALY = ["italy-clean", "italy-small", "italy-rare"]  # italy-night/-rain/-fog wait in suites/pending/


def shipped() -> list[tuple[str, str]]:
    return [(name, version) for name in suite_names(SUITES) for version in suite_versions(SUITES, name)]


def test_every_issue_suite_is_shipped_with_a_manifest():
    names = {name for name, _ in shipped()}
    assert set(SYNTHETIC + GTSDB + ITALY) <= names
    for name in SYNTHETIC + GTSDB + ITALY:
        assert (SUITES / name / suite_versions(SUITES, name)[-1] / MANIFEST_FILE).is_file(), name


@pytest.mark.parametrize(("name", "version"), shipped())
def test_shipped_spec_and_manifest_agree(name, version):
    folder = SUITES / name / version
    loaded = load_spec(folder / SPEC_FILE)
    assert (loaded.spec.name, loaded.spec.version) == (name, version)
    manifest = load_manifest(folder / MANIFEST_FILE)  # raises if the content hash fails
    assert manifest.spec_sha256 == loaded.sha256
    assert manifest.counts.images == len(manifest.images) > 0
    assert manifest.counts.boxes == sum(1 for e in manifest.images for a in e.annotations if not a.ignore)
    for transform in manifest.transforms:
        assert transform.severity == 3  # the issue's severity for every shipped scenario suite


@pytest.mark.parametrize("name", SYNTHETIC)
def test_synthetic_suite_images_regenerate_from_the_world_generator(name):
    from gate.data.synth import WORLD_VERSION, render_scene
    from gate.data.synth.world import encode_jpeg

    manifest = load_manifest(SUITES / name / "2" / MANIFEST_FILE)
    world = manifest.source.synth
    assert world is not None and world["version"] == WORLD_VERSION
    steps = steps_from_manifest(manifest.transforms, name)
    for entry in [manifest.images[0], manifest.images[len(manifest.images) // 2]]:
        jpeg = encode_jpeg(render_scene(world["seed"], entry.id - 1).pixels)
        assert sha256_bytes(jpeg) == entry.source_sha256
        with Image.open(io.BytesIO(jpeg)) as img:
            source = np.asarray(img.convert("RGB"))
        assert pixels_sha256(source) == entry.source_pixels_sha256
        boxes = [(a.bbox[0], a.bbox[1], a.bbox[0] + a.bbox[2], a.bbox[1] + a.bbox[3]) for a in entry.annotations]
        rendered = render(source, boxes, steps, entry.seed).pixels if steps else source
        assert pixels_sha256(rendered) == entry.pixels_sha256


def test_shipped_occlusion_fractions_match_the_pixels():
    from gate.data.synth import render_scene
    from gate.data.synth.world import encode_jpeg
    from gate.suites.transforms.base import box_pixel_mask

    manifest = load_manifest(SUITES / "occlusion" / "2" / MANIFEST_FILE)
    steps = steps_from_manifest(manifest.transforms, "occlusion")
    for entry in manifest.images[:3]:
        jpeg = encode_jpeg(render_scene(manifest.source.synth["seed"], entry.id - 1).pixels)
        with Image.open(io.BytesIO(jpeg)) as img:
            source = np.asarray(img.convert("RGB"))
        boxes = [(a.bbox[0], a.bbox[1], a.bbox[0] + a.bbox[2], a.bbox[1] + a.bbox[3]) for a in entry.annotations]
        changed = np.any(render(source, boxes, steps, entry.seed).pixels != source, axis=2)
        for ann, box in zip(entry.annotations, boxes, strict=True):
            rows, cols = box_pixel_mask(box, *changed.shape)
            assert ann.attributes["occluded_pasted"] == pytest.approx(float(changed[rows, cols].mean()), abs=1e-4)
            assert ann.attributes["occluded"] >= ann.attributes["occluded_pasted"]


def test_region_pack_maps_model_classes_of_either_region():
    manifest = load_manifest(SUITES / "region-us" / "2" / MANIFEST_FILE)
    taxonomy = manifest.taxonomy
    assert [c.name for c in taxonomy.categories] == ["speed_limit", "warning", "stop"]
    assert taxonomy.model_category_id("us_speed_limit_55") == 1  # the world's own US class
    assert taxonomy.model_category_id("speed_limit_80") == 1  # a European model's class
    assert taxonomy.model_category_id("us_signal_ahead") == 2
    assert taxonomy.model_category_id("stop") == 3
    assert taxonomy.model_category_id("give_way") is None


def test_small_suite_scores_only_small_signs():
    manifest = load_manifest(SUITES / "small" / "2" / MANIFEST_FILE)
    for entry in manifest.images:
        for ann in entry.annotations:
            assert (max(ann.bbox[2:]) < 16) == (not ann.ignore)


@pytest.mark.parametrize("name", ["drive-day", "drive-night", "drive-rain"])
def test_drive_suite_frames_regenerate_from_the_drive_generator(name):
    """The first frames of the first drive, rendered from the generator alone, hash as the manifest says."""
    from gate.data.synth.drive import DRIVE_VERSION, DriveSettings, iter_drive_frames
    from gate.data.synth.world import encode_jpeg

    manifest = load_manifest(SUITES / name / "1" / MANIFEST_FILE)
    params = manifest.source.drives
    assert params is not None and params["version"] == DRIVE_VERSION and manifest.sequence is not None
    settings = DriveSettings(drives=params["drives"], frames=params["frames"], fps=params["fps"], seed=params["seed"],
                             width=params["width"], height=params["height"], region=params["region"],
                             speed_kmh=tuple(params["speed_kmh"]))
    steps = steps_from_manifest(manifest.transforms, name)
    by_id = {e.id: e for e in manifest.images}
    drive = manifest.sequence.drives[0]
    for image_id, (plan, frame, pixels, signs) in zip(drive.image_ids[:3], iter_drive_frames(settings, 0)):
        entry = by_id[image_id]
        jpeg = encode_jpeg(pixels)
        assert sha256_bytes(jpeg) == entry.source_sha256
        with Image.open(io.BytesIO(jpeg)) as img:
            source = np.asarray(img.convert("RGB"))
        boxes = [(a.bbox[0], a.bbox[1], a.bbox[0] + a.bbox[2], a.bbox[1] + a.bbox[3]) for a in entry.annotations]
        rendered = render(source, boxes, steps, entry.seed).pixels if steps else source
        assert pixels_sha256(rendered) == entry.pixels_sha256
        assert sorted(a.attributes["track_id"] for a in entry.annotations) == sorted(s.track_id for s in signs)
