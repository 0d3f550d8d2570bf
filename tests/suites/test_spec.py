"""Suite spec validation: every bad value is one InputError naming the spec file."""

from __future__ import annotations

import pytest

from gate.errors import InputError
from gate.suites.spec import load_spec, parse_spec
from tests.suites.conftest import spec_dict, write_spec


def test_valid_spec_loads(make_spec):
    loaded = load_spec(make_spec())
    assert loaded.spec.name == "tiny-night"
    assert loaded.spec.version == "1"  # an integer version becomes the folder name "1"
    assert loaded.spec.transforms[0].severity == 3
    assert len(loaded.sha256) == 64


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"transforms": [{"name": "nite", "severity": 3}]}, "unknown transform 'nite'"),
        ({"transforms": [{"name": "night", "severity": 0}]}, "severity must be one of [1, 2, 3, 4, 5]"),
        ({"transforms": [{"name": "fog", "severity": 6}]}, "severity must be one of"),
        ({"transforms": [{"name": "fog", "severity": 2, "params": {"visibilty": 50}}]}, "fog parameter visibilty"),
        ({"transforms": [{"name": "fog", "severity": 2, "params": {"visibility": -5}}]}, "fog parameter visibility"),
        ({"transforms": [{"name": "occlusion", "severity": 2, "params": {"kinds": ["cat"]}}]}, "occlusion parameter"),
        ({"name": "Night Suite"}, "lower-case slug"),
        ({"version": "v1"}, "version must look like"),
        ({"colour": "blue"}, "colour"),  # extra keys are refused, not ignored
        ({"source": {"dataset": "x", "synth": {"images": 5, "seed": 1, "version": "1"}}}, "exactly one of"),
        ({"source": {}}, "exactly one of"),
        ({"selection": {"size": {"min": 20, "max": 10}}}, "must be greater than min"),
        ({"selection": {"rare": {"fewest": 2, "below": 3}}}, "exactly one of `fewest` or `below`"),
        ({"selection": {"negatives": "maybe"}}, "selection.negatives"),
        ({"taxonomy": {"categories": ["a"], "source": {"map": {"x": "b"}}}}, "is not a taxonomy category"),
        ({"taxonomy": {"categories": ["a", "a"]}}, "unique"),
    ],
    ids=["unknown-transform", "severity-0", "severity-6", "unknown-param", "bad-param-value", "bad-occluder-kind",
         "bad-name", "bad-version", "extra-key", "two-sources", "no-source", "size-order", "rare-two-rules",
         "bad-negatives", "taxonomy-target", "taxonomy-duplicate"],
)
def test_bad_spec_is_one_input_error_naming_the_file(tmp_path, tiny_dataset, overrides, message):
    path = write_spec(tmp_path / "bad.yaml", spec_dict(tiny_dataset, **overrides))
    with pytest.raises(InputError) as info:
        load_spec(path)
    assert info.value.path == str(path)
    assert message in info.value.problem
    assert "\n" not in str(info.value)


def test_missing_spec_file(tmp_path):
    with pytest.raises(InputError, match="suite spec not found"):
        load_spec(tmp_path / "nope.yaml")


def test_invalid_yaml(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_spec(path)


def test_spec_must_be_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(InputError, match="must be a YAML mapping"):
        load_spec(path)


def test_spec_hash_ignores_layout_but_not_values(tmp_path, tiny_dataset):
    spec = spec_dict(tiny_dataset)
    a = tmp_path / "a.yaml"
    a.write_text("# a comment\n" + __import__("yaml").safe_dump(spec, sort_keys=True))
    b = write_spec(tmp_path / "b.yaml", spec)
    assert load_spec(a).sha256 == load_spec(b).sha256
    changed = write_spec(tmp_path / "c.yaml", spec_dict(tiny_dataset, seed=4))
    assert load_spec(changed).sha256 != load_spec(b).sha256


def test_split_forms(tiny_dataset):
    by_tag = parse_spec(spec_dict(tiny_dataset, selection={"split": "test"}), "x").spec.selection
    by_field = parse_spec(spec_dict(tiny_dataset, selection={"split": {"field": "custom_split", "value": "test"}}),
                          "x").spec.selection
    assert by_tag.image_conditions() == {"split": "test"}
    assert by_field.image_conditions() == {"custom_split": "test"}
