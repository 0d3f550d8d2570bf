"""Class sources: dataset categories, supercategories, explicit mappings."""

from __future__ import annotations

import pytest

from gate.data.coco import CocoAnnotation, CocoCategory, CocoDataset, CocoImage
from gate.errors import InputError
from gate.cards.classes import card_class_map, class_view, resolve_classes, results_category_ids
from gate.cards.recipe import ClassesSection


def _coco() -> CocoDataset:
    categories = [CocoCategory(id=1, name="speed_30", supercategory="prohibitory"),
                  CocoCategory(id=2, name="give_way", supercategory="other"),
                  CocoCategory(id=5, name="speed_50", supercategory="prohibitory")]
    images = [CocoImage(id=1, file_name="a.jpg", width=100, height=100)]
    annotations = [CocoAnnotation(id=i, image_id=1, category_id=c, bbox=[0, 0, 10, 10]) for i, c in
                   [(1, 1), (2, 2), (3, 5)]] + [CocoAnnotation(id=4, image_id=1, category_id=1, bbox=[50, 50, 9, 9],
                                                               ignore=True)]
    return CocoDataset(images=images, annotations=annotations, categories=categories)


def test_categories_in_id_order():
    classes = resolve_classes(_coco(), ClassesSection())
    assert classes.class_names == ["speed_30", "give_way", "speed_50"]
    assert classes.category_to_label == {1: 0, 2: 1, 5: 2}


def test_supercategories_merge_categories():
    classes = resolve_classes(_coco(), ClassesSection(source="supercategory", names=["prohibitory", "other"]))
    assert classes.category_to_label == {1: 0, 2: 1, 5: 0}
    view = class_view(_coco(), classes)
    assert [c.name for c in view.categories] == ["prohibitory", "other"]
    assert [a.category_id for a in view.annotations] == [1, 2, 1, 1]
    assert [a.iscrowd for a in view.annotations] == [0, 0, 0, 1]  # the ignore region


def test_supercategory_missing_from_the_recipe():
    with pytest.raises(InputError, match=r"supercategories \['other'\] are not among"):
        resolve_classes(_coco(), ClassesSection(source="supercategory", names=["prohibitory"]))


def test_mapping_with_unknown_category():
    with pytest.raises(InputError, match="lists category 'stop', which the dataset lacks"):
        resolve_classes(_coco(), ClassesSection(source="mapping", mapping={"speed": ["speed_30", "stop"]}))


def test_card_classes_map_to_dataset_ids_by_name():
    classes = card_class_map(["speed_50", "speed_30"], _coco())
    assert results_category_ids(classes, _coco()) == ([5, 1], True)
    supers = card_class_map(["prohibitory", "other"], _coco())
    assert results_category_ids(supers, _coco()) == ([1, 2], False)
    with pytest.raises(InputError, match="neither categories nor supercategories"):
        card_class_map(["stop_sign"], _coco())
