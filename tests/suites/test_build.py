"""Building suites: byte-identical rebuilds, refusal to drift, atomic writes, and open_suite."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gate.errors import InputError, IntegrityError, RefusedError
from gate.storage import sha256_file
from gate.suites.build import build_suite
from gate.suites.manifest import load_manifest, pixels_sha256
from gate.suites.render import load_pixels
from gate.suites.resolved import open_suite
from tests.suites.conftest import spec_dict, write_spec


def folder_hashes(folder):
    return {p.name: sha256_file(p) for p in sorted(folder.iterdir())}


def test_build_writes_spec_manifest_and_renders(make_spec, roots):
    spec = make_spec()
    report = build_suite(spec)
    assert report.suite_dir == roots["suites"] / "tiny-night" / "1"
    assert (report.suite_dir / "spec.yaml").read_bytes() == spec.read_bytes()
    manifest = load_manifest(report.manifest_path)
    assert manifest.counts.images == 4 and report.rendered == 4
    assert manifest.transforms[0].name == "night" and manifest.transforms[0].params["exposure"] == 0.03
    assert manifest.generators["transform.night"] == "2" and "numpy" in manifest.generators
    for entry in manifest.images:
        pixels = load_pixels(report.render_dir / entry.rendered_file)
        assert pixels_sha256(pixels) == entry.pixels_sha256
        assert entry.transforms[0].name == "night" and entry.seed > 0
    assert "timestamp" not in report.manifest_path.read_text()


def test_build_twice_is_byte_identical(make_spec, roots, tmp_path):
    spec = make_spec()
    first = build_suite(spec)
    images_first = folder_hashes(first.render_dir)
    manifest_first = first.manifest_path.read_bytes()
    # A second build into fresh roots renders everything again from scratch.
    second = build_suite(spec, suites=tmp_path / "other-suites", cache=tmp_path / "other-cache")
    assert second.manifest_sha256 == first.manifest_sha256
    assert second.manifest_path.read_bytes() == manifest_first
    assert folder_hashes(second.render_dir) == images_first
    # Rebuilding in place confirms the content and leaves the committed file untouched.
    again = build_suite(spec)
    assert again.unchanged and again.manifest_sha256 == first.manifest_sha256
    assert first.manifest_path.read_bytes() == manifest_first


def test_chain_of_two_transforms_and_occlusion_attributes(make_spec, roots):
    spec = make_spec(name="tiny-chain", transforms=[{"name": "occlusion", "severity": 4},
                                                    {"name": "rain", "severity": 2}])
    manifest = load_manifest(build_suite(spec).manifest_path)
    assert [t.name for t in manifest.transforms] == ["occlusion", "rain"]
    boxes = [a for e in manifest.images for a in e.annotations if not a.ignore]
    assert all(0.0 <= a.attributes["occluded_pasted"] <= 1.0 for a in boxes)
    # `occluded` keeps the source's own occlusion when it was larger (image 5's stop sign: 0.6).
    stop = next(a for e in manifest.images if e.id == 5 for a in e.annotations if a.source_category_id == 5)
    assert stop.attributes["occluded"] == max(0.6, stop.attributes["occluded_pasted"])


def test_suite_without_transforms_serves_source_files(make_spec, roots, tiny_dataset):
    manifest = load_manifest(build_suite(make_spec(name="tiny-clean", transforms=[])).manifest_path)
    assert all(e.rendered_file is None and e.pixels_sha256 == e.source_pixels_sha256 for e in manifest.images)
    suite = open_suite("tiny-clean")
    assert suite.image_path(5) == tiny_dataset / "images" / "tiny_005.png"


def test_changed_spec_without_version_bump_is_refused(make_spec, roots, tmp_path, tiny_dataset):
    report = build_suite(make_spec())
    before = report.manifest_path.read_bytes()
    changed = write_spec(tmp_path / "changed.yaml", spec_dict(tiny_dataset, seed=99))
    with pytest.raises(RefusedError, match="built from a different spec") as info:
        build_suite(changed)
    assert info.value.path == str(changed)
    assert report.manifest_path.read_bytes() == before
    bumped = write_spec(tmp_path / "bumped.yaml", spec_dict(tiny_dataset, seed=99, version=2))
    assert build_suite(bumped).suite_dir.name == "2"


def test_changed_source_with_same_spec_is_refused(make_spec, roots, tiny_dataset):
    report = build_suite(make_spec())
    before = report.manifest_path.read_bytes()
    cached = folder_hashes(report.render_dir)
    data = json.loads((tiny_dataset / "annotations.json").read_text())
    data["annotations"][9]["bbox"][0] += 3  # a box in test image 5 moves
    (tiny_dataset / "annotations.json").write_text(json.dumps(data))
    with pytest.raises(RefusedError, match="gives different content"):
        build_suite(report.suite_dir / "spec.yaml")
    assert report.manifest_path.read_bytes() == before
    assert folder_hashes(report.render_dir) == cached  # the cache was not replaced either


def test_missing_source_image_names_the_file_and_writes_nothing(make_spec, roots, tiny_dataset):
    (tiny_dataset / "images" / "tiny_006.png").unlink()
    with pytest.raises(InputError, match="not found") as info:
        build_suite(make_spec())
    assert info.value.path.endswith("tiny_006.png")
    assert not (roots["suites"] / "tiny-night").exists()
    assert not any(roots["cache"].rglob("*.png"))


def test_expected_annotations_sha256_is_enforced(tmp_path, roots, tiny_dataset):
    source = {"dataset": str(tiny_dataset), "annotations_sha256": "ab" * 32}
    spec = write_spec(tmp_path / "pinned.yaml", spec_dict(tiny_dataset, source=source))
    with pytest.raises(IntegrityError, match="annotations sha256") as info:
        build_suite(spec)
    assert info.value.path.endswith("annotations.json")
    assert not (roots["suites"] / "tiny-night").exists()


def test_dataset_path_from_env_variable(tmp_path, roots, tiny_dataset, monkeypatch):
    spec = write_spec(tmp_path / "env.yaml", spec_dict(tiny_dataset, source={"dataset": "no/such/place",
                                                                            "env": "TINY_DATA"}))
    with pytest.raises(InputError, match="dataset folder not found"):
        build_suite(spec)
    monkeypatch.setenv("TINY_DATA", str(tiny_dataset))
    assert build_suite(spec).images == 4


def test_open_suite_gives_verified_images_and_coco(make_spec, roots):
    spec = make_spec(taxonomy={"categories": ["prohibitory", "danger", "mandatory", "other"],
                               "source": {"by_field": "supercategory"}})
    report = build_suite(spec)
    suite = open_suite("tiny-night")
    assert suite.manifest_sha256 == report.manifest_sha256
    assert [c.name for c in suite.coco.categories] == ["prohibitory", "danger", "mandatory", "other"]
    assert len(suite) == 4 and all(p.is_file() for p in suite.image_paths.values())
    assert suite.model_category_id("speed_limit_50") == 1 and suite.model_category_id("danger") == 2
    loaded = list(suite.iter_images())
    assert loaded[0].pixels.shape == (100, 160, 3)
    assert {a.category_id for img in loaded for a in img.annotations} <= {1, 2, 3, 4}


def test_open_suite_re_renders_a_missing_cache_file(make_spec, roots):
    report = build_suite(make_spec())
    target = report.render_dir / "0000006.png"
    original = load_pixels(target)
    target.unlink()
    suite = open_suite("tiny-night")
    assert np.array_equal(load_pixels(suite.image_path(6)), original)


def test_open_suite_refuses_a_changed_rendered_image(make_spec, roots):
    report = build_suite(make_spec())
    target = report.render_dir / "0000007.png"
    pixels = load_pixels(target).copy()
    pixels[5, 5, 0] ^= 1
    from PIL import Image

    Image.fromarray(pixels).save(target)
    with pytest.raises(IntegrityError, match="does not match the manifest") as info:
        open_suite("tiny-night")
    assert info.value.path == str(target)


def test_a_verified_render_is_rechecked_when_its_bytes_change(make_spec, roots):
    """The record of verified renders skips the decode only for the very bytes it decoded."""
    from PIL import Image

    from gate.suites.resolved import VerifiedRenders

    report = build_suite(make_spec())
    open_suite("tiny-night")  # decodes every render once and records it
    record = json.loads((report.render_dir / VerifiedRenders.FILE).read_text())
    assert "0000007.png" in record
    target = report.render_dir / "0000007.png"
    pixels = load_pixels(target).copy()
    # Same pixels, other bytes (another compression level): decoded again, found equal, accepted.
    Image.fromarray(pixels).save(target, compress_level=1)
    open_suite("tiny-night")
    assert json.loads((report.render_dir / VerifiedRenders.FILE).read_text())["0000007.png"] != record["0000007.png"]
    # Other pixels: refused although the image was verified before.
    pixels[5, 5, 0] ^= 1
    Image.fromarray(pixels).save(target)
    with pytest.raises(IntegrityError, match="does not match the manifest"):
        open_suite("tiny-night")


def test_open_suite_refuses_a_hand_edited_manifest(make_spec, roots):
    report = build_suite(make_spec())
    data = json.loads(report.manifest_path.read_text())
    data["images"][0]["annotations"][0]["bbox"][0] += 1.0
    report.manifest_path.write_text(json.dumps(data, indent=2))
    with pytest.raises(IntegrityError, match="edited by hand") as info:
        open_suite("tiny-night")
    assert info.value.path == str(report.manifest_path)


def test_open_suite_refuses_a_spec_edited_after_the_build(make_spec, roots):
    report = build_suite(make_spec())
    spec_path = report.suite_dir / "spec.yaml"
    spec_path.write_text(spec_path.read_text().replace("seed: 3", "seed: 4"))
    with pytest.raises(IntegrityError, match="spec changed since the suite was built"):
        open_suite("tiny-night")


def test_occlusion_suite_records_the_fraction_its_pixels_show(make_spec, roots, tiny_dataset):
    from gate.suites.transforms.base import box_pixel_mask

    report = build_suite(make_spec(name="tiny-occ", transforms=[{"name": "occlusion", "severity": 4}]))
    manifest = load_manifest(report.manifest_path)
    checked = 0
    for entry in manifest.images:
        source = load_pixels(tiny_dataset / "images" / entry.source_file)
        rendered = load_pixels(report.render_dir / entry.rendered_file)
        changed = np.any(source != rendered, axis=2)
        for ann in entry.annotations:
            x, y, w, h = ann.bbox
            rows, cols = box_pixel_mask((x, y, x + w, y + h), *changed.shape)
            assert ann.attributes["occluded_pasted"] == pytest.approx(float(changed[rows, cols].mean()), abs=1e-4)
            checked += 1
    assert checked == 9
