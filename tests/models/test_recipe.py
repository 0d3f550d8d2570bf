"""Recipes: strict YAML, every committed recipe valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.errors import InputError
from gate.cards.recipe import load_recipe, parse_recipe

REPO = Path(__file__).resolve().parents[2]
MINIMAL = {"name": "r", "model": {"preprocessing": {"input_size": [64, 64]}}, "steps": 10}


def _with(**changes):
    data = {**MINIMAL, **changes}
    return data


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_with(batchsize=4), "at batchsize: unknown key"),
        (_with(optimizer={"lr": 1e-3, "momentum": 0.9}), "at optimizer.momentum: unknown key"),
        (_with(augmentation={"geometric": {"horizontal_flip": 0.5}}), "horizontal flip is not supported"),
        (_with(epochs=3), "exactly one of steps or epochs"),
        (_with(model={"size": "huge", "preprocessing": {"input_size": [64, 64]}}), "model.size"),
        (_with(classes={"source": "supercategory"}), "supercategory order"),
        (_with(augmentation={"geometric": {"scale_jitter": [1.5, 0.5]}}), "low <= high"),
    ],
)
def test_bad_recipes_are_refused_with_the_key_named(raw, message):
    with pytest.raises(InputError, match=message):
        parse_recipe(raw, "recipe.yaml")


def test_unknown_key_in_a_file_names_the_file(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("name: r\nmodel: {preprocessing: {input_size: [64, 64]}}\nsteps: 5\nlearning_rate: 1\n")
    with pytest.raises(InputError) as info:
        load_recipe(path)
    assert str(info.value) == f"{path}: invalid recipe at learning_rate: unknown key (not a recipe setting)"


def test_epochs_become_steps():
    recipe = parse_recipe({**MINIMAL, "steps": None, "epochs": 2.5, "batch_size": 4})
    assert recipe.total_steps(train_images=10) == 7


def test_sha256_ignores_yaml_formatting(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("name: r\nsteps: 10\nmodel:\n  preprocessing:\n    input_size: [64, 64]\n")
    b.write_text("{model: {preprocessing: {input_size: [64,64]}}, name: r, steps: 10, seed: 0}\n")
    assert load_recipe(a).sha256() == load_recipe(b).sha256()


@pytest.mark.parametrize(
    "name", ["synth-pretrain", "synth-stage2", "synth-stage3", "synth-baseline", "synth-candidate", "gtsdb-v1"]
)
def test_committed_recipes_are_valid(name):
    recipe = load_recipe(REPO / "models" / "recipes" / f"{name}.yaml")
    assert recipe.name == name


def test_loss_section_is_optional_and_left_out_of_the_sha_while_unused():
    plain = parse_recipe(MINIMAL)
    assert plain.loss is None and "loss" not in plain.canonical()
    weighted = parse_recipe({**MINIMAL, "loss": {"class_weight": 4.0}})
    assert weighted.sha256() != plain.sha256()
    assert weighted.loss.config_overrides()["weight_loss_vfl"] == 4.0
    assert weighted.loss.config_overrides()["weight_loss_bbox"] == 5.0  # the others keep transformers' defaults
    with pytest.raises(InputError, match="loss.class_weight"):
        parse_recipe({**MINIMAL, "loss": {"class_weight": 0}})
