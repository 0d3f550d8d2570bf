"""RT-DETR detectors built from configs only (transformers `RTDetrForObjectDetection`); no hub access.

`use_timm_backbone` and pretrained backbones would reach for the hub, so the backbone is always a
`RTDetrResNetConfig` built here and trained from scratch (batch norms therefore not frozen).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gate.errors import InputError

# Named sizes. "tiny": basic-block resnet18-shaped backbone at a quarter of its widths; measured on
# 2 CPU cores it learns the synthetic world in minutes. "small": the same shape at full resnet18
# widths with d_model 128 (about 4x the parameters; slower to converge on CPU).
MODEL_SIZES: dict[str, dict[str, Any]] = {
    "tiny": {
        "backbone": {"embedding_size": 32, "hidden_sizes": [32, 64, 128, 256], "depths": [2, 2, 2, 2]},
        "d_model": 64,
        "ffn": 256,
        "heads": 4,
        "decoder_layers": 2,
        "num_queries": 100,
        "num_denoising": 30,
    },
    "small": {
        "backbone": {"embedding_size": 64, "hidden_sizes": [64, 128, 256, 512], "depths": [2, 2, 2, 2]},
        "d_model": 128,
        "ffn": 512,
        "heads": 8,
        "decoder_layers": 3,
        "num_queries": 100,
        "num_denoising": 50,
    },
}


def _offline() -> None:
    # Belt and braces: nothing in tsrgate may reach the network for weights or configs.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def build_config(size: str, class_names: list[str]):
    """The RTDetrConfig of a named size for the given classes (label names recorded in id2label)."""
    _offline()
    from transformers import RTDetrConfig, RTDetrResNetConfig

    if size not in MODEL_SIZES:
        raise InputError(f"unknown model size {size!r}; expected one of {sorted(MODEL_SIZES)}")
    spec = MODEL_SIZES[size]
    widths = spec["backbone"]["hidden_sizes"]
    backbone = RTDetrResNetConfig(
        embedding_size=spec["backbone"]["embedding_size"],
        hidden_sizes=widths,
        depths=spec["backbone"]["depths"],
        layer_type="basic",
        out_features=["stage2", "stage3", "stage4"],
    )
    d_model = spec["d_model"]
    return RTDetrConfig(
        backbone_config=backbone,
        freeze_backbone_batch_norms=False,
        num_labels=len(class_names),
        id2label=dict(enumerate(class_names)),
        label2id={name: i for i, name in enumerate(class_names)},
        encoder_in_channels=widths[1:],
        encoder_hidden_dim=d_model,
        encoder_ffn_dim=spec["ffn"],
        encoder_attention_heads=spec["heads"],
        d_model=d_model,
        decoder_in_channels=[d_model] * 3,
        decoder_ffn_dim=spec["ffn"],
        decoder_attention_heads=spec["heads"],
        decoder_layers=spec["decoder_layers"],
        num_queries=spec["num_queries"],
        num_denoising=spec["num_denoising"],
    )


def config_from_dict(config: dict[str, Any]):
    """Rebuild an RTDetrConfig from the dict stored in a card (or a HF config.json)."""
    _offline()
    from transformers import RTDetrConfig

    if config.get("model_type", "rt_detr") != "rt_detr":
        raise InputError(f"expected an rt_detr config, got model_type {config.get('model_type')!r}")
    if config.get("use_timm_backbone"):
        raise InputError("timm backbones load weights from the hub; expected an RTDetrResNetConfig backbone")
    clean = {k: v for k, v in config.items() if k not in ("transformers_version", "_name_or_path")}
    try:
        return RTDetrConfig.from_dict(clean)
    except (TypeError, ValueError, KeyError) as exc:
        raise InputError(f"invalid RT-DETR config ({exc})") from None


def config_to_dict(config) -> dict[str, Any]:
    """The config as stored in a card: JSON-able, without the library version stamp (recorded elsewhere)."""
    data = config.to_dict()
    data.pop("transformers_version", None)
    data.pop("_name_or_path", None)
    # JSON turns integer keys (id2label, also the backbone's) into strings; store the JSON form so
    # that a card written and read back compares equal.
    return json.loads(json.dumps(data))


def build_model(config_dict: dict[str, Any], seed: int | None = None):
    """A freshly initialised detector for a config dict (deterministic for a given seed)."""
    import torch
    from transformers import RTDetrForObjectDetection

    config = config_from_dict(config_dict)
    if seed is not None:
        torch.manual_seed(seed)
    model = RTDetrForObjectDetection(config)
    model.eval()
    return model


def load_weights(model, weights: str | Path) -> None:
    """Load safetensors weights strictly (every tensor present, same shapes); one InputError otherwise."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights = Path(weights)
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"corrupt or unreadable safetensors file ({exc})", path=weights) from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        detail = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise InputError(f"weights do not fit the card's architecture: {detail}", path=weights)
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise InputError(
                f"weights do not fit the card's architecture: {key} expected shape "
                f"{tuple(expected[key].shape)}, got {tuple(tensor.shape)}",
                path=weights,
            )
    model.load_state_dict(state, strict=True)


def save_weights(model, path: str | Path) -> None:
    """Write the state dict (parameters and buffers) as safetensors, contiguous, in key order."""
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata={"format": "pt"})


def count_parameters(model) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def load_detector(folder: str | Path, card=None):
    """The card and the eval-mode torch model of a safetensors model folder (hash checked)."""
    from gate.cards.card import load_card, verify_weights_file

    folder = Path(folder)
    if card is None:
        card = load_card(folder, verify_weights=False)
    if card.architecture.format != "safetensors":
        raise InputError(f"expected a safetensors model, got {card.architecture.format}", path=folder)
    weights = verify_weights_file(card, folder)
    model = build_model(card.architecture.config)
    load_weights(model, weights)
    model.eval()
    return card, model
