"""Seeded splits: stable, complementary, independent of the other images."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gate.data.coco import CocoDataset, CocoImage
from gate.data.splits import SeededSplit, seeded_part, seeded_split_ids


def _coco(names: list[str]) -> CocoDataset:
    images = [CocoImage(id=i + 1, file_name=n, width=10, height=10) for i, n in enumerate(names)]
    return CocoDataset(images=images, annotations=[], categories=[])


def test_parts_are_complementary_and_near_the_fraction():
    coco = _coco([f"img_{i:04d}.jpg" for i in range(1000)])
    test = seeded_split_ids(coco, SeededSplit(seed=17, test_fraction=0.3, part="test"))
    train = seeded_split_ids(coco, SeededSplit(seed=17, test_fraction=0.3, part="train"))
    assert set(test).isdisjoint(train) and len(test) + len(train) == 1000
    assert 250 < len(test) < 350


def test_part_depends_on_seed_and_file_name_only():
    names = [f"img_{i:04d}.jpg" for i in range(200)]
    full = _coco(names)
    shuffled = _coco(list(reversed(names[50:])))  # other ids, other order, fewer images
    split = SeededSplit(seed=5, test_fraction=0.25, part="test")
    test_full = {full.images[i - 1].file_name for i in seeded_split_ids(full, split)}
    test_shuffled = {shuffled.images[i - 1].file_name for i in seeded_split_ids(shuffled, split)}
    assert test_shuffled == {n for n in test_full if n in set(names[50:])}
    assert seeded_part("a.jpg", 1, 0.5) == seeded_part("a.jpg", 1, 0.5)
    other_seed = {n for n in names if seeded_part(n, 6, 0.25) == "test"}
    assert other_seed != test_full


@pytest.mark.parametrize("fraction", [0, 1, -0.1])
def test_fraction_must_be_inside_zero_one(fraction):
    with pytest.raises(ValidationError):
        SeededSplit(seed=1, test_fraction=fraction, part="test")


def test_italy_split_is_the_documented_one(italy_path):
    from gate.data.coco import load_coco

    coco = load_coco(italy_path / "annotations.json")
    test = set(seeded_split_ids(coco, SeededSplit(seed=17, test_fraction=0.3, part="test")))
    assert len(test) == 149
    assert sum(a.image_id in test for a in coco.annotations) == 371
