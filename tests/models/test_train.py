"""Training: bit-exact resume, and bad inputs that leave no partial model folder."""

from __future__ import annotations

import json

import pytest
from safetensors.numpy import load_file

from gate.errors import InputError, RefusedError
from gate.cards.recipe import parse_recipe
from gate.models.train import train_model

TINY = {
    "name": "resume-test",
    "model": {"size": "tiny", "preprocessing": {"input_size": [96, 128]}},
    "steps": 4,
    "batch_size": 2,
    "threads": 1,
    "checkpoint_interval": 2,
    "evaluation": {"interval": 2},
    "mining": {"images_per_round": 3},
    "augmentation": {"photometric": {"night_prob": 0.5, "rain_prob": 0.5}},
    "backbone_pretraining": {"steps": 3, "batch_size": 4, "crop_size": 32, "warmup_steps": 1},
    "splits": {"train": {"tag": "split", "values": ["train"]}, "validate_on": {"tag": "split", "values": ["val"]}},
}


def _weights(folder):
    return load_file(str(folder / "model.safetensors"))


def test_stop_and_resume_gives_the_same_weights_as_one_run(shapes_data, tmp_path):
    recipe = parse_recipe(TINY)
    straight = train_model(shapes_data, recipe, tmp_path / "straight", work_dir=tmp_path / "w1", progress=False)

    stopped = train_model(shapes_data, recipe, tmp_path / "resumed", work_dir=tmp_path / "w2", progress=False,
                          stop_after=2)
    assert stopped.model_dir is None and stopped.steps_done == 2
    assert not (tmp_path / "resumed").exists()  # interrupted: no partial model folder
    resumed = train_model(shapes_data, recipe, tmp_path / "resumed", work_dir=tmp_path / "w2", progress=False,
                          resume=True)

    assert resumed.card.weights.sha256 == straight.card.weights.sha256
    a, b = _weights(straight.model_dir), _weights(resumed.model_dir)
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    mined_a = json.loads((straight.model_dir / "training" / "mined.json").read_text())
    mined_b = json.loads((resumed.model_dir / "training" / "mined.json").read_text())
    assert mined_a == mined_b and len(mined_a["rounds"]) == 1
    assert not (tmp_path / "w2" / "checkpoint").exists()  # cleaned up after success
    assert resumed.card.training.backbone_pretraining == straight.card.training.backbone_pretraining
    assert straight.card.training.backbone_pretraining["steps"] == 3


def test_interrupted_right_after_backbone_pretraining_resumes_without_repeating_it(shapes_data, tmp_path):
    recipe = parse_recipe({**TINY, "steps": 2, "evaluation": {"interval": 0}, "mining": {"enabled": False}})
    straight = train_model(shapes_data, recipe, tmp_path / "a", work_dir=tmp_path / "w1", progress=False)
    stopped = train_model(shapes_data, recipe, tmp_path / "b", work_dir=tmp_path / "w2", progress=False,
                          stop_after=0)
    assert stopped.steps_done == 0 and (tmp_path / "w2" / "checkpoint").is_dir()
    resumed = train_model(shapes_data, recipe, tmp_path / "b", work_dir=tmp_path / "w2", progress=False,
                          resume=True)
    assert resumed.card.weights.sha256 == straight.card.weights.sha256


def test_existing_checkpoint_needs_resume_or_force(shapes_data, tmp_path):
    recipe = parse_recipe({**TINY, "evaluation": {"interval": 0}})
    train_model(shapes_data, recipe, tmp_path / "m", work_dir=tmp_path / "w", progress=False, stop_after=2)
    with pytest.raises(RefusedError, match="pass --resume"):
        train_model(shapes_data, recipe, tmp_path / "m", work_dir=tmp_path / "w", progress=False)
    changed = parse_recipe({**TINY, "evaluation": {"interval": 0}, "seed": 5})
    with pytest.raises(RefusedError, match="different recipe"):
        train_model(shapes_data, changed, tmp_path / "m", work_dir=tmp_path / "w", progress=False, resume=True)


def test_classes_that_do_not_match_the_dataset(shapes_data, tmp_path):
    recipe = parse_recipe({**TINY, "classes": {"source": "categories", "names": ["red_disc", "stop"]}})
    with pytest.raises(InputError, match="dataset categories do not match the recipe's classes"):
        train_model(shapes_data, recipe, tmp_path / "m", work_dir=tmp_path / "w", progress=False)
    assert not (tmp_path / "m").exists()


def test_empty_training_split(shapes_data, tmp_path):
    recipe = parse_recipe({**TINY, "splits": {"train": {"tag": "split", "values": ["nowhere"]}}})
    with pytest.raises(InputError, match=r"no training images: the split split in \['nowhere'\] matches none"):
        train_model(shapes_data, recipe, tmp_path / "m", work_dir=tmp_path / "w", progress=False)
    assert not (tmp_path / "m").exists()


def test_dataset_without_boxes(tmp_path):
    from tests.models.shapes import make_shapes_dataset

    data = make_shapes_dataset(tmp_path / "data", images=2)
    coco = json.loads((data / "annotations.json").read_text())
    coco["annotations"] = []
    (data / "annotations.json").write_text(json.dumps(coco))
    with pytest.raises(InputError, match="no training boxes"):
        train_model(data, parse_recipe(TINY), tmp_path / "m", work_dir=tmp_path / "w", progress=False)


def test_cli_train_errors_are_one_line(run_cli, shapes_data, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: r\nmodel: {preprocessing: {input_size: [64, 64]}}\nsteps: 2\nlr: 0.1\n")
    result = run_cli("train", "--data", shapes_data, "--recipe", recipe, "--out", tmp_path / "m")
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {recipe}: invalid recipe at lr: unknown key (not a recipe setting)"
    result = run_cli("train", "--data", tmp_path / "nodata", "--recipe", recipe, "--out", tmp_path / "m")
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "m").exists()


def test_existing_model_folder_is_not_replaced_without_force(shapes_data, tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "card.json").write_text("{}")
    with pytest.raises(RefusedError, match="already exists"):
        train_model(shapes_data, parse_recipe(TINY), tmp_path / "m", work_dir=tmp_path / "w", progress=False)
    assert (tmp_path / "m" / "card.json").read_text() == "{}"


def test_fine_tune_copies_every_tensor_that_fits(shapes_data, trained_model_dir, tmp_path):
    from gate.cards.card import load_card

    parent = load_card(trained_model_dir)
    recipe = parse_recipe({
        **TINY, "model": {"size": "tiny", "preprocessing": {"input_size": [128, 160]}}, "steps": 1,
        "evaluation": {"interval": 0}, "mining": {"enabled": False},
        "init_from": {"model": str(trained_model_dir), "weights_sha256": parent.weights.sha256},
        "classes": {"source": "mapping", "mapping": {"round": ["red_disc"], "angular": ["blue_square",
                                                                                      "yellow_triangle"]}},
    })
    outcome = train_model(shapes_data, recipe, tmp_path / "fine", work_dir=tmp_path / "w", progress=False)
    record = outcome.card.training.initialized_from
    assert record["weights_sha256"] == parent.weights.sha256
    # Only the class-count-dependent tensors start fresh: the score heads and the denoising embedding.
    assert record["fresh_tensors"] and all("class" in k or "score" in k for k in record["fresh_tensors"])
    assert record["copied_tensors"] > 400
    pinned_wrong = parse_recipe({**recipe.canonical(), "init_from": {"model": str(trained_model_dir),
                                                                     "weights_sha256": "0" * 64}})
    with pytest.raises(InputError, match="pins weights 000000000000"):
        train_model(shapes_data, pinned_wrong, tmp_path / "x", work_dir=tmp_path / "w2", progress=False)


def test_loss_weights_reach_the_model_config_and_change_training(shapes_data, tmp_path):
    plain = {**TINY, "steps": 2, "backbone_pretraining": None, "evaluation": {"interval": 0},
             "mining": {"enabled": False}}
    weighted = {**plain, "loss": {"class_weight": 4.0, "matcher_class_cost": 3.0}}
    a = train_model(shapes_data, parse_recipe(plain), tmp_path / "a", work_dir=tmp_path / "wa", progress=False)
    b = train_model(shapes_data, parse_recipe(weighted), tmp_path / "b", work_dir=tmp_path / "wb", progress=False)
    config = b.card.architecture.config
    assert (config["weight_loss_vfl"], config["matcher_class_cost"]) == (4.0, 3.0)
    assert a.card.architecture.config["weight_loss_vfl"] == 1.0
    # Same seed and data: only the loss weighting differs, and it changes the gradients.
    assert a.card.weights.sha256 != b.card.weights.sha256
