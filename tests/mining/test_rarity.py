"""Training class counts: from the recorded dataset, a given one, or the re-planned generated world."""

from __future__ import annotations

import json
import shutil

import pytest

from gate.data.dataset import DetectionDataset
from gate.data.synth import SYNTH_CLASSES
from gate.mining.rarity import counts_from_dataset, counts_from_generated_world, training_rarity
from gate.cards.card import ArchitectureSpec, SplitSelector, TrainingDataRecord, load_card
from gate.storage import sha256_file


def _shapes_train_counts(shapes_pool):
    coco = json.loads((shapes_pool / "annotations.json").read_text())
    train = {img["id"] for img in coco["images"] if img.get("split", img.get("tags", {}).get("split")) == "train"}
    names = {c["id"]: c["name"] for c in coco["categories"]}
    counts: dict[str, int] = {}
    for ann in coco["annotations"]:
        if ann["image_id"] in train:
            counts[names[ann["category_id"]]] = counts.get(names[ann["category_id"]], 0) + 1
    return counts


def test_counts_come_from_the_recorded_training_split(fixture_model, shapes_pool):
    card = load_card(fixture_model)
    table = training_rarity(card)
    assert table.available and "training dataset" in table.source
    expected = _shapes_train_counts(shapes_pool)
    assert {c.class_name: c.training_boxes for c in table.classes} == {n: expected.get(n, 0)
                                                                          for n in card.class_names}


def test_a_changed_training_dataset_is_not_used(fixture_model, shapes_pool, tmp_path):
    card = load_card(fixture_model)
    copy = tmp_path / "data"
    shutil.copytree(shapes_pool, copy)
    raw = json.loads((copy / "annotations.json").read_text())
    raw["annotations"] = raw["annotations"][:-1]
    (copy / "annotations.json").write_text(json.dumps(raw))
    moved = card.model_copy(deep=True)
    moved.training.data.dataset_path = str(copy)
    table = training_rarity(moved)
    assert not table.available
    assert "changed since training" in table.source and "--training-data" in table.source
    given = training_rarity(moved, training_data=copy)  # the user may still insist on a dataset
    assert given.available and "(given)" in given.source


def test_missing_training_dataset_makes_the_signal_unavailable(fixture_model, tmp_path):
    moved = load_card(fixture_model).model_copy(deep=True)
    moved.training.data.dataset_path = str(tmp_path / "gone")
    table = training_rarity(moved)
    assert not table.available and "not on this machine" in table.source


def test_ingested_model_without_training_record(fixture_model):
    card = load_card(fixture_model).model_copy(update={"training": None})
    table = training_rarity(card)
    assert not table.available and "no training record" in table.source


def test_replanned_world_counts_equal_the_written_annotations(fixture_model, mining_world):
    """A model trained on the generated world whose images are gone: counts re-planned from the seed."""
    world = DetectionDataset.load(mining_world)
    names = [c.name for c in SYNTH_CLASSES]
    card = load_card(fixture_model).model_copy(deep=True)
    card = card.model_copy(update={"class_names": names, "architecture": ArchitectureSpec(format="onnx")})
    card.training.data = TrainingDataRecord(
        dataset_path="/nonexistent/world", annotations_sha256=sha256_file(world.annotations_path),
        dataset_info={k: v for k, v in world.coco.info.items() if isinstance(v, str | int)},
        train_split=SplitSelector(tag="split", values=["train"]), class_source="categories",
        train_images=0, train_boxes=0)
    card.training.recipe.content["classes"] = {"source": "categories"}
    planned = counts_from_generated_world(card)
    assert planned == counts_from_dataset(card, world, card.training.data.train_split)
    assert sum(planned.values()) > 50
    table = training_rarity(card)
    assert table.available and table.source.startswith("generated world re-planned (seed 31, 48 images")


@pytest.mark.parametrize("info", [{}, {"generator": "someone else", "seed": 1, "images": 3, "world_version": "1"},
                                  {"generator": "tsrgate.data.synth", "seed": 1, "images": 3, "world_version": "0"}])
def test_other_datasets_are_not_replanned(fixture_model, info):
    card = load_card(fixture_model).model_copy(deep=True)
    card.training.data.dataset_info = info
    assert counts_from_generated_world(card) is None
