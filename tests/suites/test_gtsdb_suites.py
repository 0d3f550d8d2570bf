"""The GTSDB suites build from the shared dataset and reproduce their committed manifests.

Skipped with a reason when ../shared/datasets/gtsdb (or $TSRGATE_GTSDB) is absent. Suites without a
transform are rebuilt in full (they must come out identical to the committed manifest); the
transformed ones are re-planned in full and three images each are re-rendered (all 217 take about
two minutes per suite: `tsrgate suite verify NAME --rerender` does that).
"""

from __future__ import annotations

import shutil

import pytest

from gate import locations
from gate.suites.build import build_suite, plan_suite
from gate.suites.manifest import MANIFEST_FILE, SPEC_FILE, load_manifest, pixels_sha256
from gate.suites.resolved import render_entry
from gate.suites.source import open_source
from gate.suites.spec import load_spec

SUITES = locations.repo_root() / "suites"


@pytest.mark.parametrize("name", ["gtsdb-clean", "gtsdb-small", "gtsdb-rare"])
def test_untransformed_gtsdb_suite_rebuilds_identically(name, gtsdb_path, tmp_path):
    committed = SUITES / name / "2"
    copy = tmp_path / "suites" / name / "2"
    shutil.copytree(committed, copy)
    report = build_suite(copy / SPEC_FILE, data=gtsdb_path, suites=tmp_path / "suites", cache=tmp_path / "cache")
    assert report.unchanged
    assert (copy / MANIFEST_FILE).read_bytes() == (committed / MANIFEST_FILE).read_bytes()


@pytest.mark.parametrize("name", ["gtsdb-night", "gtsdb-rain", "gtsdb-fog", "gtsdb-occlusion"])
def test_transformed_gtsdb_suite_replans_and_rerenders(name, gtsdb_path, tmp_path):
    folder = SUITES / name / "2"
    manifest = load_manifest(folder / MANIFEST_FILE)
    loaded = load_spec(folder / SPEC_FILE)
    source = open_source(loaded.spec.source, tmp_path, data=gtsdb_path)
    assert source.annotations_sha256 == manifest.source.annotations_sha256
    plan = plan_suite(loaded, source)
    assert [p.image.id for p in plan.images] == [e.id for e in manifest.images]
    for entry in manifest.images[:: len(manifest.images) // 3][:3]:
        pixels = render_entry(entry, manifest, source, folder / MANIFEST_FILE)
        assert pixels_sha256(pixels) == entry.pixels_sha256


def test_gtsdb_suites_use_the_test_split_and_supercategories(gtsdb_path):
    clean = load_manifest(SUITES / "gtsdb-clean" / "2" / MANIFEST_FILE)
    assert clean.counts.images == 217 and clean.counts.boxes == 339
    assert [c.name for c in clean.taxonomy.categories] == ["prohibitory", "danger", "mandatory", "other"]
    assert clean.taxonomy.model_category_id("speed_limit_30") == 1  # a 43-class model maps through the table
    assert clean.taxonomy.model_category_id("danger") == 2
    rare = load_manifest(SUITES / "gtsdb-rare" / "2" / MANIFEST_FILE)
    assert len(rare.selection.rare_classes) == 5
