"""Taxonomies: source classes and model classes mapped (several-to-one, ignore) onto evaluation categories."""

from __future__ import annotations

import pytest

from gate.data.coco import CocoCategory
from gate.errors import InputError
from gate.suites.build import plan_suite
from gate.suites.source import open_source
from gate.suites.spec import TaxonomySpec, parse_spec
from gate.suites.taxonomy import identity_taxonomy, resolve_taxonomy
from tests.suites.conftest import CATEGORIES, spec_dict

SOURCE = [CocoCategory(**c) for c in CATEGORIES]


def taxonomy(**spec):
    return resolve_taxonomy(TaxonomySpec.model_validate(spec), SOURCE, "spec.yaml")


def test_by_field_supercategory():
    tax = taxonomy(categories=["prohibitory", "danger", "mandatory", "other"], source={"by_field": "supercategory"})
    assert tax.source_map == {"speed_limit_30": "prohibitory", "speed_limit_50": "prohibitory", "danger": "danger",
                              "keep_right": "mandatory", "stop": "other", "traffic_light": "other"}
    assert [c.id for c in tax.categories] == [1, 2, 3, 4]


def test_patterns_exact_names_and_ignore():
    tax = taxonomy(categories=["speed_limit", "warning", "stop"],
                   source={"map": {"speed_limit_*": "speed_limit", "danger": "warning", "stop": "stop",
                                   "traffic_light": "ignore", "keep_*": "ignore"}})
    assert tax.source_map["speed_limit_50"] == "speed_limit"
    assert tax.source_map["traffic_light"] is None
    assert tax.source_map["keep_right"] is None


def test_exact_name_beats_pattern():
    tax = taxonomy(categories=["speed_limit", "fifty"], source={"map": {"speed_limit_*": "speed_limit",
                                                                      "speed_limit_50": "fifty"},
                                                              "unmapped": "ignore"})
    assert tax.source_map["speed_limit_50"] == "fifty"
    assert tax.source_map["speed_limit_30"] == "speed_limit"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"categories": ["a"], "source": {"map": {"no_such_class": "a"}}}, "unknown class 'no_such_class'"),
        ({"categories": ["a"], "source": {"map": {"zebra_*": "a"}}}, "pattern 'zebra_*' matches no source class"),
        ({"categories": ["a"], "source": {"map": {"stop": "a"}}}, "source class 'speed_limit_30' is not mapped"),
        ({"categories": ["prohibitory"], "source": {"by_field": "supercategory"}}, "gives 'danger'"),
    ],
    ids=["unknown-class", "pattern-matches-nothing", "unmapped-error", "by-field-unknown-target"],
)
def test_taxonomy_errors_name_the_spec(spec, message):
    with pytest.raises(InputError) as info:
        taxonomy(**spec)
    assert message in info.value.problem
    assert info.value.path == "spec.yaml"


def test_model_classes_map_at_evaluation_time():
    tax = taxonomy(categories=["prohibitory", "danger", "mandatory", "other"], source={"by_field": "supercategory"},
                   model={"map": {"us_speed_*": "prohibitory", "traffic_light": "ignore"}})
    # A supercategory model (identity), a 43-class-style model (same as source), explicit and pattern maps.
    assert tax.model_category_id("danger") == 2
    assert tax.model_category_id("speed_limit_50") == 1
    assert tax.model_category_id("us_speed_limit_25") == 1
    assert tax.model_category_id("traffic_light") is None
    assert tax.model_category_id("zebra") is None
    assert tax.model_class_table(["stop", "keep_right"]) == {"stop": 4, "keep_right": 3}


def test_model_unmapped_error():
    tax = taxonomy(categories=["prohibitory", "danger", "mandatory", "other"], source={"by_field": "supercategory"},
                   model={"unmapped": "error", "same_as_source": False})
    assert tax.model_category_id("other") == 4
    with pytest.raises(InputError, match="model class 'speed_limit_30' has no category"):
        tax.model_category_id("speed_limit_30")


def test_identity_taxonomy_keeps_source_ids():
    tax = identity_taxonomy(SOURCE)
    assert [c.id for c in tax.categories] == [1, 2, 3, 4, 5, 6]
    assert tax.model_category_id("stop") == 5
    assert tax.model_category_id("prohibitory") is None


def test_taxonomy_round_trips_through_json():
    tax = taxonomy(categories=["prohibitory", "danger", "mandatory", "other"], source={"by_field": "supercategory"})
    assert type(tax).model_validate_json(tax.model_dump_json()) == tax


def test_plan_maps_boxes_and_drops_ignored_classes(tiny_dataset, tmp_path):
    spec = spec_dict(tiny_dataset, transforms=[], selection={"split": "test"},
                     taxonomy={"categories": ["speed_limit", "other_sign"],
                               "source": {"map": {"speed_limit_*": "speed_limit", "traffic_light": "ignore"},
                                          "unmapped": "ignore"},
                               "model": {"map": {"stop": "other_sign"}}, "ignored": "drop"})
    loaded = parse_spec(spec, tmp_path / "s.yaml")
    planned = plan_suite(loaded, open_source(loaded.spec.source, tmp_path / "cache"))
    by_id = {p.image.id: p for p in planned.images}
    assert [a.category_id for a in by_id[5].annotations] == [1, 1]  # speed limit + the crowd speed limit
    assert 7 not in by_id  # keep_right and traffic_light are both not scored: nothing left
    assert planned.dropped_by_taxonomy == 5  # danger, stop x2, keep_right, traffic_light in test images
