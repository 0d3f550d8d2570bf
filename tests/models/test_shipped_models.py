"""The shipped models: their cards carry the numbers the issue asks for, and those numbers reproduce."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.cards.card import load_card

MODELS = Path(__file__).resolve().parents[2] / "models"


def _suite_record(card, suite: str):
    records = [r for r in card.evaluation if r.split.startswith(f"suite {suite} v")]
    assert records, f"{card.name}: no 'suite {suite}' numbers in its card (tsrgate measure --record)"
    return records[0]


@pytest.mark.parametrize("name", ["synth-baseline", "synth-candidate"])
def test_synth_models_carry_their_clean_suite_numbers(name):
    """The cards say how good the shipped models are on the clean suite: at least the models issue's
    AP50 0.5 (baseline 0.538, candidate 0.520), each fine-tuned from the shipped synth-stage3."""
    card = load_card(MODELS / name)
    clean = _suite_record(card, "clean")
    assert clean.images == 143 and clean.ap50 >= 0.5, f"{name}: clean AP50 {clean.ap50}"
    parent = load_card(MODELS / "synth-stage3")
    assert card.training is not None and card.training.initialized_from["name"] == "synth-stage3"
    assert card.training.initialized_from["weights_sha256"] == parent.weights.sha256


def test_candidate_is_a_different_model_from_the_baseline():
    baseline, candidate = load_card(MODELS / "synth-baseline"), load_card(MODELS / "synth-candidate")
    assert baseline.weights.sha256 != candidate.weights.sha256
    assert baseline.training.recipe.sha256 != candidate.training.recipe.sha256
    photometric = candidate.training.recipe.content["augmentation"]["photometric"]
    assert photometric["night_prob"] > 0 and photometric["rain_prob"] > 0


def test_baseline_card_numbers_reproduce_from_the_folder():
    """Recompute the baseline's clean-suite numbers from its weights: the card is not hand-written."""
    from gate.models.evaluate import evaluate_model_on_suite

    card = load_card(MODELS / "synth-baseline")
    assert evaluate_model_on_suite(MODELS / "synth-baseline", "clean", threads=1) == _suite_record(card, "clean")


def test_gtsdb_card_has_test_split_numbers():
    card = load_card(MODELS / "gtsdb-v1")
    [test] = [r for r in card.evaluation if r.split == "test"]
    assert test.ap50 >= 0.75 and test.images == 217
    assert set(test.per_size_ap50) == {"tiny", "small", "medium", "large"}
    assert card.class_names == ["prohibitory", "danger", "mandatory", "other"]
