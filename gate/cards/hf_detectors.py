"""Any transformers object-detection model built from its config (family `detr`): D-FINE, DETR, YOLOS, ...

RT-DETR keeps its own module (gate.cards.rtdetr: named sizes, training). Every other DETR-style
detector whose outputs are class logits and normalised boxes is built here from the config dict
stored in its card, by `model_type`, with transformers' Auto classes and no hub access. Whether its
head is a sigmoid (focal) or a softmax with a no-object class is the card's `outputs.score_activation`.
"""

from __future__ import annotations

import json
import os
from typing import Any

from gate.errors import InputError

_DROPPED_KEYS = ("transformers_version", "_name_or_path")


def _offline() -> None:
    # As gate.cards.rtdetr (which imports this module to build such models): never reach the network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def hf_config_from_dict(config: dict[str, Any]):
    """The transformers config of a card's `architecture.config` (its `model_type` picks the class)."""
    _offline()
    from transformers import CONFIG_MAPPING

    model_type = config.get("model_type")
    if model_type not in CONFIG_MAPPING:
        raise InputError(f"unknown transformers model_type {model_type!r} in the config")
    if config.get("use_timm_backbone") or config.get("use_pretrained_backbone"):
        raise InputError("timm or pretrained backbones load weights from the hub; expected a backbone config")
    clean = {k: v for k, v in config.items() if k not in (*_DROPPED_KEYS, "model_type")}
    try:
        return CONFIG_MAPPING[model_type].from_dict(clean)
    except (TypeError, ValueError, KeyError) as exc:
        raise InputError(f"invalid {model_type} config ({exc})") from None


def hf_config_to_dict(config) -> dict[str, Any]:
    """The config as stored in a card: JSON form, without the library version stamp."""
    data = config.to_dict()
    for key in _DROPPED_KEYS:
        data.pop(key, None)
    return json.loads(json.dumps(data))


def build_hf_model(config_dict: dict[str, Any], seed: int | None = None):
    """A freshly initialised object-detection model for a config dict (deterministic for a given seed)."""
    import torch
    from transformers import AutoModelForObjectDetection

    config = hf_config_from_dict(config_dict)
    if seed is not None:
        torch.manual_seed(seed)
    try:
        model = AutoModelForObjectDetection.from_config(config)
    except ValueError as exc:
        raise InputError(f"{config.model_type} is not an object-detection model in transformers ({exc})") from None
    model.eval()
    return model
