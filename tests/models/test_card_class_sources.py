"""A card says which source classes feed each of its classes, so a mapping can be written from it alone."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from gate.data.coco import CocoCategory, CocoDataset
from gate.cards.card import ModelCard, load_card
from gate.cards.classes import class_sources, resolve_classes
from gate.cards.recipe import ClassesSection
from gate import locations

MODELS = locations.repo_root() / "models"


def test_gtsdb_v1_card_says_stop_give_way_and_no_entry_are_other():
    card = load_card(MODELS / "gtsdb-v1", verify_weights=False)
    assert set(card.class_sources) == set(card.class_names)
    assert {"stop", "give_way", "no_entry", "priority_road"} <= set(card.class_sources["other"])
    assert "speed_limit_30" in card.class_sources["prohibitory"]
    assert sum(len(v) for v in card.class_sources.values()) == 43
    assert "stop" in card.known_source_classes()


def test_class_sources_follow_the_training_class_map():
    coco = CocoDataset(images=[], annotations=[], categories=[
        CocoCategory(id=1, name="stop", supercategory="other"),
        CocoCategory(id=2, name="speed_limit_30", supercategory="prohibitory"),
        CocoCategory(id=3, name="give_way", supercategory="other")])
    classes = resolve_classes(coco, ClassesSection(source="supercategory", names=["prohibitory", "other"]))
    assert class_sources(coco, classes) == {"prohibitory": ["speed_limit_30"], "other": ["stop", "give_way"]}


def test_class_sources_must_name_the_cards_classes():
    raw = json.loads((MODELS / "gtsdb-v1" / "card.json").read_text())
    raw["class_sources"] = {"warning": ["danger"]}
    with pytest.raises(ValidationError, match="class_sources"):
        ModelCard.model_validate(raw)


def test_a_trained_card_records_its_sources_command_and_wall_time(trained_model_dir):
    card = load_card(trained_model_dir)
    assert card.class_sources and set(card.class_sources) == set(card.class_names)
    assert all(card.class_sources[name] for name in card.class_names)
    assert card.training.command is None  # the fixture's recipe is built in memory: no file to name
    assert card.training.wall_seconds > 0
