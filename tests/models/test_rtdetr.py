"""RT-DETR built from configs only (no hub)."""

from __future__ import annotations

import pytest

from gate.errors import InputError
from gate.cards.rtdetr import build_config, build_model, config_from_dict, config_to_dict, count_parameters


def test_tiny_builds_offline_with_the_measured_shape():
    config = build_config("tiny", ["a", "b", "c", "d"])
    assert config.backbone_config.hidden_sizes == [32, 64, 128, 256]
    assert config.d_model == 64 and config.decoder_layers == 2 and config.num_queries == 100
    assert config.freeze_backbone_batch_norms is False
    model = build_model(config_to_dict(config), seed=0)
    assert 3_000_000 < count_parameters(model) < 4_500_000
    assert model.config.id2label[3] == "d"


def test_config_dict_round_trip_is_exact():
    stored = config_to_dict(build_config("small", ["x", "y"]))
    assert config_to_dict(config_from_dict(stored)) == stored


def test_same_seed_same_initial_weights():
    config = config_to_dict(build_config("tiny", ["a"]))
    first, second = build_model(config, seed=3), build_model(config, seed=3)
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items(), strict=True):
        assert a.equal(b), name


def test_unknown_size_is_refused():
    with pytest.raises(InputError, match="unknown model size 'giant'"):
        build_config("giant", ["a"])


def test_timm_backbone_is_refused():
    stored = config_to_dict(build_config("tiny", ["a"]))
    with pytest.raises(InputError, match="hub"):
        config_from_dict({**stored, "use_timm_backbone": True})
