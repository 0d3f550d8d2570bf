"""`tsrgate ingest`: bring a detector trained elsewhere into a tsrgate model folder, with its card.

Accepted sources:
- a Hugging Face RT-DETR folder (`config.json` + `model.safetensors`), or a tsrgate model folder
  (the config then comes from the card);
- a single `.safetensors` file whose card carries `architecture.config`;
- an ONNX file (`.onnx`) with one image input and (logits, pred_boxes) outputs;
- pickled checkpoints (`.pt`, `.pth`, `.bin`, `.ckpt`, `.pkl`) only with `trust_pickle=True`:
  unpickling runs code from the file, so it must be an explicit decision. They are converted to
  safetensors on the way in, so the model folder never holds a pickle.

The user's card (YAML or JSON) may omit `weights` and `architecture.config`: both are filled in
from the source. Anything it states that the weights contradict (class count, input size, a
recorded sha256) is an InputError; nothing is written unless every check passes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gate.errors import InputError, RefusedError
from gate.cards.card import (
    CARD_JSON,
    CARD_YAML,
    ONNX_FILE,
    SAFETENSORS_FILE,
    ModelCard,
    WeightsRecord,
    check_safetensors_classes,
    config_num_labels,
    read_card_mapping,
    save_card,
)
from gate.storage import check_output_dir, sha256_file, staged_dir

PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl")
_HF_PICKLE_NAMES = ("pytorch_model.bin", "model.pt", "model.pth")


def _validate_card(raw: dict[str, Any], card_file: Path) -> ModelCard:
    try:
        return ModelCard.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "card"
        raise InputError(f"card contradicts the model at {where}: {err['msg'].removeprefix('Value error, ')}",
                         path=card_file) from None


def _locate_source(src: Path, trust_pickle: bool) -> tuple[str, Path, Path | None]:
    """(kind, weights file, config.json or None) of a source path; kind is safetensors, onnx or pickle."""
    if not src.exists():
        raise InputError("source model not found", path=src)
    if src.is_dir():
        config = src / "config.json" if (src / "config.json").is_file() else None
        if (src / SAFETENSORS_FILE).is_file():
            return "safetensors", src / SAFETENSORS_FILE, config
        if (src / ONNX_FILE).is_file():
            return "onnx", src / ONNX_FILE, None
        for name in _HF_PICKLE_NAMES:
            if (src / name).is_file():
                return _pickle_source(src / name, trust_pickle), src / name, config
        raise InputError(f"no {SAFETENSORS_FILE}, {ONNX_FILE} or pickled checkpoint in the folder", path=src)
    suffix = src.suffix.lower()
    if suffix == ".safetensors":
        return "safetensors", src, None
    if suffix == ".onnx":
        return "onnx", src, None
    if suffix in PICKLE_SUFFIXES:
        return _pickle_source(src, trust_pickle), src, None
    raise InputError(f"unsupported model file type {suffix or '(none)'}; expected .safetensors, .onnx or a folder",
                     path=src)


def _pickle_source(path: Path, trust_pickle: bool) -> str:
    if not trust_pickle:
        raise RefusedError("pickled checkpoint refused: loading a pickle runs code from the file; convert it "
                           "to safetensors, or pass --trust-pickle if you trust its origin", path=path)
    return "pickle"


def _config_for(raw_card: dict[str, Any], config_file: Path | None, card_file: Path) -> dict[str, Any]:
    from gate.cards.rtdetr import config_from_dict, config_to_dict

    architecture = raw_card.get("architecture") or {}
    draft = architecture.get("config") or {}
    if config_file is not None:
        try:
            config = json.loads(config_file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"config.json is not valid JSON ({exc})", path=config_file) from None
        if draft and config_num_labels(draft) != config_num_labels(config):
            raise InputError(
                f"card's architecture.config has {config_num_labels(draft)} classes, config.json has "
                f"{config_num_labels(config)}", path=card_file)
    elif draft:
        config = draft
    else:
        raise InputError("no config.json beside the weights and no architecture.config in the card", path=card_file)
    if "num_labels" not in config and "id2label" not in config:
        raise InputError("config has neither id2label nor num_labels, so its class count is unknown",
                         path=config_file or card_file)
    return config_to_dict(config_from_dict(config))


def _load_pickle_state(path: Path) -> dict[str, Any]:
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=False)  # the user chose to trust it
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"unreadable pickled checkpoint ({type(exc).__name__}: {exc})", path=path) from None
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(hasattr(v, "shape") for v in state.values()):
        raise InputError("pickled checkpoint does not hold a state dict of tensors", path=path)
    return state


def _has_own_key_names(model, weights_file: Path) -> bool:
    """True when the file uses the module's own state-dict names (tsrgate model folders do)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(weights_file), framework="np") as handle:
            return set(handle.keys()) == set(model.state_dict())
    except (SafetensorError, OSError) as exc:
        raise InputError(f"corrupt safetensors file ({exc})", path=weights_file) from None


def _load_hf_checkpoint(config: dict[str, Any], weights_file: Path):
    """Load a checkpoint written by `save_pretrained`, whose tensor names transformers renames on load.

    transformers' own loader does the renaming; every tensor must be used and every parameter
    found, else the checkpoint is not this architecture.
    """
    import tempfile

    from transformers import RTDetrForObjectDetection

    from gate.cards.rtdetr import config_from_dict

    with tempfile.TemporaryDirectory(prefix="tsrgate-ingest-") as tmp:
        folder = Path(tmp)
        (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
        (folder / SAFETENSORS_FILE).symlink_to(weights_file.resolve())
        try:
            model, info = RTDetrForObjectDetection.from_pretrained(
                folder, config=config_from_dict(config), local_files_only=True, output_loading_info=True
            )
        except Exception as exc:  # noqa: BLE001 - transformers raises many types for a bad checkpoint
            raise InputError(f"weights do not load as RT-DETR ({type(exc).__name__}: {exc})",
                             path=weights_file) from None
    problems = [f"{kind} {sorted(info[kind])[:3]}" for kind in ("missing_keys", "unexpected_keys", "mismatched_keys")
                if info.get(kind)]
    if problems:
        raise InputError(f"weights do not fit the architecture: {'; '.join(problems)}", path=weights_file)
    model.eval()
    return model


def _check_onnx(path: Path, card: ModelCard) -> None:
    import onnx

    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as exc:  # noqa: BLE001 - onnx raises several types for broken files
        raise InputError(f"invalid ONNX model ({type(exc).__name__}: {str(exc).splitlines()[0]})", path=path) from None
    initializers = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise InputError(f"expected one image input, got {len(inputs)}", path=path)

    def dims(value_info) -> list[int | None]:
        return [d.dim_value if d.HasField("dim_value") else None for d in value_info.type.tensor_type.shape.dim]

    shape = dims(inputs[0])
    height, width = card.input_size
    if len(shape) != 4 or shape[1] not in (3, None):
        raise InputError(f"image input: expected shape (N, 3, H, W), got {shape}", path=path)
    if (shape[2], shape[3]) != (height, width) and None not in shape[2:]:
        raise InputError(f"image input is {shape[2]}x{shape[3]} but the card's input_size is {height}x{width}",
                         path=path)
    outputs = list(model.graph.output)
    if len(outputs) < 2:
        raise InputError(f"expected outputs (logits, pred_boxes), got {len(outputs)} output(s)", path=path)
    logits = next((o for o in outputs if o.name == "logits"), outputs[0])
    classes = dims(logits)
    if len(classes) != 3:
        raise InputError(f"logits: expected shape (N, Q, C), got {classes}", path=path)
    if classes[2] is not None and classes[2] != card.num_classes:
        raise InputError(f"the card names {card.num_classes} classes but the ONNX logits have {classes[2]}", path=path)


def ingest_model(
    src: str | Path,
    card_file: str | Path,
    out: str | Path,
    *,
    trust_pickle: bool = False,
    force: bool = False,
    name: str | None = None,
) -> ModelCard:
    """Validate a source model against its card and write the tsrgate model folder `out` atomically."""
    src, card_file, out = Path(src), Path(card_file), Path(out)
    check_output_dir(out, force)
    kind, weights_file, config_file = _locate_source(src, trust_pickle)
    raw = read_card_mapping(card_file)
    raw.setdefault("name", name or out.name)
    if name:
        raw["name"] = name
    recorded_sha = (raw.get("weights") or {}).get("sha256")

    with staged_dir(out, force=force) as staging:
        architecture = dict(raw.get("architecture") or {})
        if kind == "onnx":
            target = staging / ONNX_FILE
            shutil.copyfile(weights_file, target)
            architecture.update({"format": "onnx", "config": {}})
        else:
            from gate.cards.rtdetr import build_model, count_parameters, load_weights, save_weights

            config = _config_for(raw, config_file, card_file)
            architecture.update({"format": "safetensors", "config": config})
            target = staging / SAFETENSORS_FILE
            model = build_model(config)
            if kind == "pickle":
                import torch

                state = _load_pickle_state(weights_file)
                converted = staging / ".converted.safetensors"
                from safetensors.torch import save_file

                save_file({k: torch.as_tensor(v).contiguous() for k, v in state.items()}, str(converted))
                load_weights(model, converted)
                converted.unlink()
                save_weights(model, target)
            else:
                check_safetensors_classes(weights_file, config_num_labels(config))
                if _has_own_key_names(model, weights_file):
                    load_weights(model, weights_file)  # every tensor present with the right shape
                    shutil.copyfile(weights_file, target)
                else:
                    model = _load_hf_checkpoint(config, weights_file)
                    save_weights(model, target)
            raw["weights"] = {"parameters": count_parameters(model)}
        digest = sha256_file(target)
        if recorded_sha and recorded_sha != digest and kind != "pickle":
            raise InputError(f"the card records weights sha256 {recorded_sha[:12]}... but the source hashes to "
                             f"{digest[:12]}...", path=card_file)
        raw["architecture"] = architecture
        raw["weights"] = WeightsRecord(
            file=target.name, sha256=digest, bytes=target.stat().st_size,
            parameters=(raw.get("weights") or {}).get("parameters"),
        ).model_dump()
        raw["created_by"] = "ingest" if raw.get("created_by") is None else raw["created_by"]
        card = _validate_card(raw, card_file)
        anchors = card.architecture.config.get("anchor_image_size")
        if anchors and tuple(anchors) != tuple(card.input_size):
            raise InputError(f"the model's anchor_image_size {list(anchors)} differs from the card's input_size "
                             f"{list(card.input_size)}", path=card_file)
        if kind == "onnx":
            _check_onnx(target, card)
        # The model folder holds exactly one card file, in JSON.
        for stale in (CARD_JSON, CARD_YAML):
            (staging / stale).unlink(missing_ok=True)
        save_card(card, staging)
    return card
