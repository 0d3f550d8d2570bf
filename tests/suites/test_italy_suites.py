"""The Italy region pack builds from the shared dataset and reproduces its committed manifests.

Skipped with a reason when ../shared/datasets/italy (or $TSRGATE_ITALY) is absent. Suites without a
transform are rebuilt in full, twice, from copies of their specs in another folder (the manifests must
come out byte-identical to the committed ones); the weather specs waiting in suites/pending/ are
planned and must pair with italy-clean frame for frame.
"""

from __future__ import annotations

import shutil

import pytest

from gate import locations
from gate.suites.build import build_suite, plan_suite
from gate.suites.manifest import MANIFEST_FILE, SPEC_FILE, load_manifest
from gate.suites.source import open_source
from gate.suites.spec import load_spec

SUITES = locations.repo_root() / "suites"


@pytest.mark.parametrize("name", ["italy-clean", "italy-small", "italy-rare"])
def test_untransformed_italy_suite_builds_twice_byte_identically(name, italy_path, tmp_path, monkeypatch):
    monkeypatch.setenv("TSRGATE_ITALY", str(italy_path))
    committed = SUITES / name / "1"
    for attempt in ("first", "second"):
        root = tmp_path / attempt / "suites"
        shutil.copytree(SUITES / "taxonomies", root / "taxonomies")  # the spec names ../../taxonomies/...
        shutil.copytree(locations.repo_root() / "models" / "gtsdb-v1", tmp_path / attempt / "models" / "gtsdb-v1",
                        ignore=shutil.ignore_patterns("*.safetensors"))  # the mapping names the card
        spec = root / name / "1" / SPEC_FILE
        spec.parent.mkdir(parents=True)
        shutil.copy(committed / SPEC_FILE, spec)
        report = build_suite(spec, suites=root, cache=tmp_path / "cache")
        assert not report.unchanged
        assert (root / name / "1" / MANIFEST_FILE).read_bytes() == (committed / MANIFEST_FILE).read_bytes()


@pytest.mark.parametrize("name", ["italy-night", "italy-rain", "italy-fog"])
def test_pending_weather_specs_pair_with_italy_clean(name, italy_path, tmp_path):
    """The weather specs (suites/pending/, not rendered yet) select italy-clean's frames and boxes."""
    root = tmp_path / "suites"
    shutil.copytree(SUITES / "taxonomies", root / "taxonomies")
    shutil.copytree(locations.repo_root() / "models" / "gtsdb-v1", tmp_path / "models" / "gtsdb-v1",
                    ignore=shutil.ignore_patterns("*.safetensors"))
    spec = root / name / "1" / SPEC_FILE
    spec.parent.mkdir(parents=True)
    shutil.copy(SUITES / "pending" / name / "1" / SPEC_FILE, spec)
    loaded = load_spec(spec)
    assert [t.severity for t in loaded.spec.transforms] == [3]
    plan = plan_suite(loaded, open_source(loaded.spec.source, tmp_path, data=italy_path))
    clean = load_manifest(SUITES / "italy-clean" / "1" / MANIFEST_FILE)
    assert [p.image.id for p in plan.images] == [e.id for e in clean.images]
    assert [[a.model_dump() for a in p.annotations] for p in plan.images] == \
        [[a.model_dump() for a in e.annotations] for e in clean.images]


def test_italy_suites_score_the_test_part_on_supercategories(italy_path):
    clean = load_manifest(SUITES / "italy-clean" / "1" / MANIFEST_FILE)
    assert clean.counts.images == 149 and clean.counts.boxes == 293
    assert [c.name for c in clean.taxonomy.categories] == ["prohibitory", "danger", "mandatory", "other"]
    assert clean.taxonomy.mapping_sha256 and clean.taxonomy.mapping_file == "../../taxonomies/italy-gtsdb.yaml"
    assert clean.taxonomy.source_map["fermarsi_e_dare_precedenza"] == "other"
    assert clean.taxonomy.source_map["parcheggio"] is None
    assert not clean.source.dataset.startswith("/")
    regions = [a for e in clean.images for a in e.annotations if a.attributes.get("ignored_class")]
    assert regions and all(a.iscrowd == 1 for a in regions)
    train_test_overlap = {e.source_file for e in clean.images} & {"italy_01714.jpg", "italy_01717.jpg"}
    assert not train_test_overlap


def test_a_changed_mapping_is_a_changed_suite(italy_path, tmp_path, monkeypatch):
    from gate.errors import RefusedError

    monkeypatch.setenv("TSRGATE_ITALY", str(italy_path))
    root = tmp_path / "suites"
    shutil.copytree(SUITES / "taxonomies", root / "taxonomies")
    shutil.copytree(locations.repo_root() / "models" / "gtsdb-v1", tmp_path / "models" / "gtsdb-v1",
                    ignore=shutil.ignore_patterns("*.safetensors"))
    shutil.copytree(SUITES / "italy-small", root / "italy-small")
    mapping = root / "taxonomies" / "italy-gtsdb.yaml"
    # Even a reworded reason changes the file's sha256, which the manifest records.
    mapping.write_text(mapping.read_text().replace("# emergency lay-by", "# SOS lay-by"))
    with pytest.raises(RefusedError, match="'taxonomy' differs"):
        build_suite(root / "italy-small" / "1" / SPEC_FILE, suites=root, cache=tmp_path / "cache")


def test_a_bad_mapping_stops_suite_build_with_one_line(italy_path, tmp_path, monkeypatch, run_cli):
    monkeypatch.setenv("TSRGATE_ITALY", str(italy_path))
    root = tmp_path / "suites"
    shutil.copytree(SUITES / "taxonomies", root / "taxonomies")
    shutil.copytree(locations.repo_root() / "models" / "gtsdb-v1", tmp_path / "models" / "gtsdb-v1",
                    ignore=shutil.ignore_patterns("*.safetensors"))
    spec = root / "italy-small" / "1" / SPEC_FILE
    spec.parent.mkdir(parents=True)
    shutil.copy(SUITES / "italy-small" / "1" / SPEC_FILE, spec)
    mapping = root / "taxonomies" / "italy-gtsdb.yaml"
    lines = mapping.read_text().splitlines(keepends=True)
    mapping.write_text("".join(line for line in lines if not line.startswith("  sos:")))
    result = run_cli("suite", "build", spec, "--suites-dir", root, "--cache", tmp_path / "cache")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("error")]
    assert lines == [f"error: {mapping}: source class 'sos' is neither mapped nor ignored"]
