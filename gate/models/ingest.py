"""`tsrgate ingest`: bring a detector trained elsewhere into a tsrgate model folder, with its card.

Accepted sources:
- a Hugging Face RT-DETR folder (`config.json` + `model.safetensors`), or a tsrgate model folder
  (the config then comes from the card);
- a single `.safetensors` file whose card carries `architecture.config`;
- an ONNX file (`.onnx`) with one image input and the outputs its card's family and `outputs` layout
  declare (checked on the graph and by a probe inference);
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
from gate.inputs import read_structured, require_mapping
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
    architecture = raw_card.get("architecture") or {}
    if architecture.get("family") == "detr":
        from gate.cards.hf_detectors import hf_config_from_dict as config_from_dict
        from gate.cards.hf_detectors import hf_config_to_dict as config_to_dict
    else:
        from gate.cards.rtdetr import config_from_dict, config_to_dict

    draft = architecture.get("config") or {}
    if config_file is not None:
        config = require_mapping(read_structured(config_file, "config.json", fmt="json"), config_file, "config.json")
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
    try:
        return config_to_dict(config_from_dict(config))
    except InputError as exc:
        if exc.path is not None:
            raise
        where = "" if config_file is not None else "architecture."
        raise InputError(f"{where}{exc.problem}", path=config_file or card_file) from None


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


def _load_hf_checkpoint(config: dict[str, Any], weights_file: Path, family: str = "rt_detr"):
    """Load a checkpoint written by `save_pretrained`, whose tensor names transformers renames on load.

    transformers' own loader does the renaming; every tensor must be used and every parameter
    found, else the checkpoint is not this architecture.
    """
    import tempfile

    from transformers import AutoModelForObjectDetection, RTDetrForObjectDetection

    if family == "detr":
        from gate.cards.hf_detectors import hf_config_from_dict as config_from_dict

        model_class = AutoModelForObjectDetection
    else:
        from gate.cards.rtdetr import config_from_dict

        model_class = RTDetrForObjectDetection
    with tempfile.TemporaryDirectory(prefix="tsrgate-ingest-") as tmp:
        folder = Path(tmp)
        (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
        (folder / SAFETENSORS_FILE).symlink_to(weights_file.resolve())
        try:
            model, info = model_class.from_pretrained(
                folder, config=config_from_dict(config), local_files_only=True, output_loading_info=True
            )
        except Exception as exc:  # noqa: BLE001 - transformers raises many types for a bad checkpoint
            raise InputError(f"weights do not load as {config.get('model_type', 'rt_detr')} ({type(exc).__name__}: {exc})",
                             path=weights_file) from None
    problems = [f"{kind} {sorted(info[kind])[:3]}" for kind in ("missing_keys", "unexpected_keys", "mismatched_keys")
                if info.get(kind)]
    if problems:
        raise InputError(f"weights do not fit the architecture: {'; '.join(problems)}", path=weights_file)
    model.eval()
    return model


def _check_onnx(path: Path, card: ModelCard) -> None:
    """The ONNX file is valid, fits the card's input and declared outputs, and a probe inference agrees.

    The probe (a seeded random image at the card's input size) checks every declared output's name,
    rank and shape as the runtime really produces them, and that its values can be detections
    (finite, boxes of non-negative size, classes within the card's).
    """
    import numpy as np
    import onnxruntime as ort

    from gate.backends.decoders import check_outputs
    from gate.backends.onnx_export import check_onnx_file
    from gate.cards.outputs import match_shapes

    input_name, batch = check_onnx_file(path, card)
    layout = card.architecture.decoding
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types
        raise InputError(f"ONNX Runtime cannot load the model ({str(exc).strip().splitlines()[0]})", path=path) from None
    graph_outputs = [o.name for o in session.get_outputs()]
    if card.architecture.outputs is None:
        names = ["logits" if "logits" in graph_outputs else graph_outputs[0],
                 "pred_boxes" if "pred_boxes" in graph_outputs else graph_outputs[1]]
        layout = layout.model_copy(update={"logits": names[0], "boxes": names[1]})
        expected = layout.expected_shapes(card.num_classes)
    else:
        names = layout.names()
        expected = layout.expected_shapes(card.num_classes)
    height, width = card.input_size
    probe = np.random.default_rng(0).random((batch or 1, 3, height, width), dtype=np.float32)
    try:
        values = session.run(names, {input_name: probe})
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"probe inference failed ({str(exc).strip().splitlines()[0]})", path=path) from None
    arrays = dict(zip(names, values, strict=True))
    problem = match_shapes(expected, {name: list(array.shape) for name, array in arrays.items()})
    if problem is None:
        problem = check_outputs(arrays, layout, card.num_classes)
    if problem is not None:
        raise InputError(f"probe inference: {problem}", path=path)


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
    raw = read_card_mapping(card_file)  # the hand-written input first: its problems are the likeliest
    kind, weights_file, config_file = _locate_source(src, trust_pickle)
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
            family = architecture.get("family", "rt_detr")
            if family == "detr":
                from gate.cards.hf_detectors import build_hf_model as build_model
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
                if family == "rt_detr":
                    check_safetensors_classes(weights_file, config_num_labels(config))
                if _has_own_key_names(model, weights_file):
                    load_weights(model, weights_file)  # every tensor present with the right shape
                    shutil.copyfile(weights_file, target)
                else:
                    model = _load_hf_checkpoint(config, weights_file, family)
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
            _check_onnx(weights_file, card)  # the same bytes as the copy; errors name the user's file
        # The model folder holds exactly one card file, in JSON.
        for stale in (CARD_JSON, CARD_YAML):
            (staging / stale).unlink(missing_ok=True)
        save_card(card, staging)
    return card
