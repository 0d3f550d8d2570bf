"""Recipes can name a seeded split; recipes that do not keep their sha256 (resumable runs, card records)."""

from __future__ import annotations

from gate.cards.classes import select_split
from gate.cards.recipe import load_recipe
from gate import locations

RECIPES = locations.repo_root() / "models" / "recipes"


def test_a_recipe_without_a_seeded_split_hashes_as_before():
    recipe = load_recipe(RECIPES / "gtsdb-v1.yaml")
    assert "seeded" not in recipe.canonical()["splits"]["train"]
    from gate.cards.card import load_card

    card = load_card(locations.repo_root() / "models" / "gtsdb-v1", verify_weights=False)
    assert recipe.sha256() == card.training.recipe.sha256


def test_gtsdb_italy_trains_on_the_complement_of_the_suites_test_part(italy_path):
    from gate.data.coco import load_coco

    recipe = load_recipe(RECIPES / "gtsdb-italy.yaml")
    coco = load_coco(italy_path / "annotations.json")
    train = set(select_split(coco, recipe.splits.train))
    test = recipe.splits.train.model_copy(update={"seeded": recipe.splits.train.seeded.model_copy(
        update={"part": "test"})})
    assert len(train) == 384
    assert train.isdisjoint(select_split(coco, test)) and len(train | set(select_split(coco, test))) == 533
    assert recipe.splits.train.describe() == "all images, seeded split train (seed 17, test fraction 0.3)"
