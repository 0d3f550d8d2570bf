"""Reviewed taxonomy mapping files: validated on load, one test per failure kind, and the shipped Italy one."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gate.data.coco import CocoCategory
from gate.errors import InputError
from gate import locations
from gate.suites.mapping import check_covers, load_mapping

CARD = locations.repo_root() / "models" / "gtsdb-v1" / "card.json"
ITALY_MAPPING = locations.repo_root() / "suites" / "taxonomies" / "italy-gtsdb.yaml"
SOURCE = [CocoCategory(id=1, name="dare_precedenza"), CocoCategory(id=2, name="caduta_massi"),
          CocoCategory(id=3, name="parcheggio")]
GOOD = """name: test
version: 1
card: {card}
classes:
  dare_precedenza: {{supercategory: other, class: give_way}}   # GTSDB files give way under other
  caduta_massi: {{supercategory: danger, class: null}}
  parcheggio: ignore
"""


def _write(tmp_path: Path, text: str, card: str | Path = CARD) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(text.format(card=card))
    return path


def test_good_mapping_loads_and_gives_both_levels(tmp_path):
    loaded = load_mapping(_write(tmp_path, GOOD))
    check_covers(loaded, SOURCE)
    assert loaded.mapping.target("dare_precedenza", "supercategory") == "other"
    assert loaded.mapping.target("dare_precedenza", "class") == "give_way"
    assert loaded.mapping.target("caduta_massi", "class") is None
    assert loaded.mapping.target("parcheggio", "supercategory") is None


def test_sha256_covers_the_whole_file_including_reasons(tmp_path):
    first = load_mapping(_write(tmp_path, GOOD)).sha256
    second = load_mapping(_write(tmp_path, GOOD.replace("under other", "under 'other'"))).sha256
    assert first != second


def _problem(path: Path, source=SOURCE) -> str:
    with pytest.raises(InputError) as info:
        check_covers(load_mapping(path), source)
    assert info.value.path == str(path)
    assert "\n" not in str(info.value)
    return info.value.problem


def test_a_missing_source_class_is_named(tmp_path):
    path = _write(tmp_path, GOOD.replace("  parcheggio: ignore\n", ""))
    assert "source class 'parcheggio' is neither mapped nor ignored" in _problem(path)


def test_a_class_the_source_lacks_is_named(tmp_path):
    path = _write(tmp_path, GOOD + "  sos: ignore\n")
    assert "classes.sos is not a class of the source dataset" in _problem(path)


def test_an_unknown_supercategory_is_named(tmp_path):
    path = _write(tmp_path, GOOD.replace("supercategory: danger", "supercategory: warning"))
    assert "supercategory 'warning' is not a class of the model card" in _problem(path)


def test_an_unknown_target_class_is_named(tmp_path):
    path = _write(tmp_path, GOOD.replace("class: give_way", "class: yield"))
    assert "class 'yield' is not known to the model card" in _problem(path)


def test_a_class_mapped_twice_is_named(tmp_path):
    path = _write(tmp_path, GOOD + "  dare_precedenza: ignore\n")
    assert "'dare_precedenza' is mapped twice" in _problem(path)


@pytest.mark.parametrize("text, message", [
    ("- dare_precedenza\n- parcheggio\n", "must be a YAML mapping"),
    ("name: t\nversion: 1\ncard: x\nclasses: [dare_precedenza]\n", "classes: expected a mapping"),
    ("name: t\nversion: 1\ncard: {card}\nclasses:\n  dare_precedenza: other\n", "invalid taxonomy mapping"),
    ("name: [unclosed\n", "not valid YAML"),
])
def test_a_file_that_is_not_a_mapping_is_refused(tmp_path, text, message):
    assert message in _problem(_write(tmp_path, text))


def test_a_missing_card_is_named(tmp_path):
    path = _write(tmp_path, GOOD, card="../nowhere/card.json")
    assert "card:" in _problem(path) and "cannot be loaded" in _problem(path)


def test_the_shipped_italy_mapping_covers_the_italy_classes(italy_path):
    from gate.data.coco import load_coco
    from gate.storage import sha256_file

    loaded = load_mapping(ITALY_MAPPING)
    coco = load_coco(italy_path / "annotations.json")
    check_covers(loaded, coco.categories)
    assert loaded.mapping.source_annotations_sha256 == sha256_file(italy_path / "annotations.json")


def test_every_non_obvious_row_of_the_italy_mapping_says_why():
    """A row is obvious when the GTSDB class is named and no comment is needed; every null or ignore row
    (no counterpart) carries its reason."""
    for line in ITALY_MAPPING.read_text().splitlines():
        row = line.split("#")[0]
        if row.startswith("  ") and not row.strip().startswith("#") and ":" in row and \
                ("class: null" in row or row.rstrip().endswith("ignore")):
            assert "#" in line, f"no reason given: {line.strip()}"


def test_the_gtsdb_italy_recipe_learns_exactly_the_mapping():
    loaded = load_mapping(ITALY_MAPPING)
    recipe = yaml.safe_load((locations.repo_root() / "models" / "recipes" / "gtsdb-italy.yaml").read_text())
    expected: dict[str, list[str]] = {}
    for name in loaded.mapping.classes:
        target = loaded.mapping.target(name, "supercategory")
        if target is not None:
            expected.setdefault(target, []).append(name)
    assert {k: sorted(v) for k, v in recipe["classes"]["mapping"].items()} == \
        {k: sorted(v) for k, v in expected.items()}


def _taxonomy_spec(tmp_path: Path, **taxonomy):
    from gate.suites.spec import TaxonomySpec

    _write(tmp_path, GOOD)
    return TaxonomySpec.model_validate({"mapping_file": "mapping.yaml", **taxonomy})


def test_a_spec_scores_either_level_of_the_mapping(tmp_path):
    from gate.suites.taxonomy import resolve_taxonomy

    spec_path = tmp_path / "spec.yaml"
    supers = resolve_taxonomy(_taxonomy_spec(tmp_path, categories=["danger", "other"]), SOURCE, spec_path)
    assert supers.source_map == {"dare_precedenza": "other", "caduta_massi": "danger", "parcheggio": None}
    assert supers.mapping_sha256 == load_mapping(tmp_path / "mapping.yaml").sha256
    classes = resolve_taxonomy(_taxonomy_spec(tmp_path, categories=["give_way"], mapping_level="class"), SOURCE,
                               spec_path)
    assert classes.source_map == {"dare_precedenza": "give_way", "caduta_massi": None, "parcheggio": None}


def test_a_spec_whose_categories_lack_a_mapped_target_is_refused(tmp_path):
    from gate.suites.taxonomy import resolve_taxonomy

    with pytest.raises(InputError, match="taxonomy.categories lacks \\['danger'\\]"):
        resolve_taxonomy(_taxonomy_spec(tmp_path, categories=["other"]), SOURCE, tmp_path / "spec.yaml")


def test_mapping_file_and_source_rules_do_not_mix(tmp_path):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="either `mapping_file` or `source` rules"):
        _taxonomy_spec(tmp_path, categories=["other"], source={"by_field": "supercategory"})
