"""Model cards: round trip, and cards that contradict their weights or themselves."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from gate.errors import InputError, IntegrityError
from gate.cards.card import ModelCard, load_card, read_card_file, save_card


def _copy(model_dir, tmp_path):
    target = tmp_path / "model"
    shutil.copytree(model_dir, target)
    return target


def test_card_round_trips_through_json(trained_model_dir, tmp_path):
    card = load_card(trained_model_dir)
    save_card(card, tmp_path)
    again = read_card_file(tmp_path / "card.json")
    assert again == card
    assert (tmp_path / "card.json").read_bytes() == (trained_model_dir / "card.json").read_bytes()


def test_yaml_card_is_accepted(trained_model_dir, tmp_path):
    model = _copy(trained_model_dir, tmp_path)
    data = json.loads((model / "card.json").read_text())
    (model / "card.json").unlink()
    (model / "card.yaml").write_text(yaml.safe_dump(data))
    assert load_card(model) == load_card(trained_model_dir)


def test_trained_card_records_provenance(trained_model_dir):
    card = load_card(trained_model_dir)
    assert card.class_names == ["red_disc", "blue_square", "yellow_triangle"]
    assert card.training.recipe.name == "shapes-test" and len(card.training.recipe.sha256) == 64
    assert card.training.data.train_images == 12
    assert {"torch", "transformers", "tsrgate"} <= set(card.training.libraries)
    assert card.evaluation and card.evaluation[0].split == "val"
    assert card.weights.parameters > 3_000_000


def test_weights_that_do_not_match_the_hash_are_refused(trained_model_dir, tmp_path):
    model = _copy(trained_model_dir, tmp_path)
    with open(model / "model.safetensors", "r+b") as handle:
        handle.seek(-4, 2)
        handle.write(b"\x00\x01\x02\x03")
    with pytest.raises(IntegrityError, match="does not match the card"):
        load_card(model)


def test_corrupt_safetensors_is_one_input_error(trained_model_dir, tmp_path):
    model = _copy(trained_model_dir, tmp_path)
    (model / "model.safetensors").write_bytes(b"not a safetensors file")
    data = json.loads((model / "card.json").read_text())
    from gate.storage import sha256_file

    data["weights"]["sha256"] = sha256_file(model / "model.safetensors")
    (model / "card.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match="safetensors"):
        load_card(model)


def test_card_with_fewer_classes_than_the_weights_is_refused(trained_model_dir, tmp_path):
    model = _copy(trained_model_dir, tmp_path)
    data = json.loads((model / "card.json").read_text())
    data["class_names"] = data["class_names"][:2]
    (model / "card.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"class_names: expected 3 names .* got 2"):
        load_card(model)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(surprise=1), "surprise: Extra inputs"),
        (lambda d: d["preprocessing"].update(resize="squash"), "preprocessing.resize"),
        (lambda d: d["class_names"].append(d["class_names"][0]), "unique"),
        (lambda d: d["weights"].update(sha256="xyz"), "weights.sha256"),
        (lambda d: d["preprocessing"]["normalize"] is None and d["preprocessing"].update(
            normalize={"mean": [0, 0, 0], "std": [1, 0, 1]}), "expected std > 0"),
    ],
)
def test_bad_cards_give_one_line_errors(trained_model_dir, tmp_path, change, message):
    data = json.loads((trained_model_dir / "card.json").read_text())
    change(data)
    path = tmp_path / "card.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=message) as info:
        read_card_file(path)
    assert "\n" not in str(info.value)


def test_missing_model_folder_and_card(tmp_path):
    with pytest.raises(InputError, match="model folder not found"):
        load_card(tmp_path / "absent")
    with pytest.raises(InputError, match="no card.json or card.yaml"):
        load_card(tmp_path)


def test_card_schema_is_strict():
    with pytest.raises(ValueError):
        ModelCard.model_validate({"name": "x"})
