"""Selection: tags, split, size, classes, rarity, occlusion, negatives, sampling and ignore regions."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.errors import InputError
from gate.suites.build import plan_suite
from gate.suites.source import open_source
from gate.suites.spec import parse_spec
from tests.suites.conftest import spec_dict


def plan(dataset: Path, tmp_path: Path, selection: dict, **overrides):
    loaded = parse_spec(spec_dict(dataset, selection=selection, transforms=[], **overrides), tmp_path / "s.yaml")
    return plan_suite(loaded, open_source(loaded.spec.source, tmp_path / "cache"))


def ids(planned) -> list[int]:
    return [p.image.id for p in planned.images]


def scored(planned) -> dict[int, list[int]]:
    """image id -> source category ids of its scored (non-ignore) boxes."""
    return {p.image.id: [a.source_category_id for a in p.annotations if not a.ignore] for p in planned.images}


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        ({"tags": {"time": "night"}}, [3, 6]),
        ({"tags": {"weather": ["rain", "fog"]}}, [2, 4, 6]),  # a list means "any of"
        ({"tags": {"time": "day", "region": "us"}}, [4, 7]),  # several keys must all hold
        ({"split": "test"}, [5, 6, 7, 9]),  # image 8 has no box: dropped as a negative
        ({"split": {"field": "custom_split", "value": "val"}}, [10]),  # a top-level field, not a tag
        ({"tags": {"custom_split": "val"}}, [10]),  # the same through `tags`
    ],
    ids=["tag", "tag-any-of", "two-tags", "split", "split-field", "extra-field-as-tag"],
)
def test_image_selection(tiny_dataset, tmp_path, selection, expected):
    assert ids(plan(tiny_dataset, tmp_path, selection)) == expected


def test_negatives_keep(tiny_dataset, tmp_path):
    planned = plan(tiny_dataset, tmp_path, {"split": "test", "negatives": "keep"})
    assert ids(planned) == [5, 6, 7, 8, 9]


def test_size_selection_marks_other_boxes_ignore(tiny_dataset, tmp_path):
    planned = plan(tiny_dataset, tmp_path, {"split": "test", "size": {"max": 16}})
    # Small boxes (longer side < 16) are scored; the big ones in the same images are ignore regions.
    assert scored(planned) == {5: [5], 6: [3], 9: [1]}
    image5 = next(p for p in planned.images if p.image.id == 5)
    big = next(a for a in image5.annotations if a.source_category_id == 1)
    assert big.ignore is True and big.iscrowd == 1  # both flags: pycocotools honours iscrowd


def test_size_range_is_half_open(tiny_dataset, tmp_path):
    planned = plan(tiny_dataset, tmp_path, {"split": "test", "size": {"min": 16, "max": 22}})
    assert scored(planned) == {7: [4, 6]}  # 16 px is in, 22 px is out; 18 px (traffic light) is in


def test_source_crowd_box_stays_ignored(tiny_dataset, tmp_path):
    planned = plan(tiny_dataset, tmp_path, {"split": "test"})
    image5 = next(p for p in planned.images if p.image.id == 5)
    crowd = next(a for a in image5.annotations if a.source_category_id == 2)
    assert crowd.ignore and crowd.iscrowd == 1


def test_class_selection_by_name_and_id(tiny_dataset, tmp_path):
    planned = plan(tiny_dataset, tmp_path, {"split": "test", "classes": ["danger", 4]})
    assert scored(planned) == {6: [3], 7: [4]}


def test_unknown_class_is_an_error(tiny_dataset, tmp_path):
    with pytest.raises(InputError, match="unknown class 'dangr'"):
        plan(tiny_dataset, tmp_path, {"classes": ["dangr"]})


def test_rare_fewest_counted_on_train(tiny_dataset, tmp_path):
    planned = plan(tiny_dataset, tmp_path, {"split": "test", "rare": {"fewest": 2, "counted_on": {"split": "train"}}})
    # Train counts: speed_limit_30 4, speed_limit_50 1, danger 1, keep_right 1, traffic_light 1, stop 0.
    # All six occur in test; the fewest two are stop (0), then speed_limit_50 (1, the tie broken by id).
    assert planned.selection.rare_classes == [2, 5]
    assert planned.selection.rare_reference_counts == {"2": 1, "5": 0}
    assert scored(planned) == {5: [5], 6: [2], 9: [5]}  # image 5's speed_limit_50 is a crowd box


def test_rare_below(tiny_dataset, tmp_path):
    planned = plan(tiny_dataset, tmp_path, {"split": "test", "rare": {"below": 1, "counted_on": {"split": "train"}}})
    assert planned.selection.rare_classes == [5]


def test_min_occluded(tiny_dataset, tmp_path):
    planned = plan(tiny_dataset, tmp_path, {"min_occluded": 0.3})
    assert scored(planned) == {2: [1], 5: [5]}


def test_selection_matching_no_image(tiny_dataset, tmp_path):
    with pytest.raises(InputError, match="selection matches no image") as info:
        plan(tiny_dataset, tmp_path, {"tags": {"weather": "snow"}})
    assert info.value.path.endswith("s.yaml")


def test_selection_leaving_no_box(tiny_dataset, tmp_path):
    with pytest.raises(InputError, match="selection matches nothing"):
        plan(tiny_dataset, tmp_path, {"split": "val", "size": {"max": 5}})


def test_max_images_is_a_stable_seeded_sample(tiny_dataset, tmp_path):
    first = ids(plan(tiny_dataset, tmp_path, {"max_images": 4}))
    again = ids(plan(tiny_dataset, tmp_path, {"max_images": 4}))
    other_seed = ids(plan(tiny_dataset, tmp_path, {"max_images": 4}, seed=99))
    assert len(first) == 4 and first == again == sorted(first)
    assert other_seed != first
    # Growing the sample keeps the earlier images (a hash order, not a reshuffle).
    assert set(first) <= set(ids(plan(tiny_dataset, tmp_path, {"max_images": 6})))
