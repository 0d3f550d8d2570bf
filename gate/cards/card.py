"""The model card: everything needed to feed a model and read its outputs, and where it came from.

Most train-to-deploy mismatches are preprocessing mismatches, so the card is the one contract every
backend reads its resize, normalisation, channel order and post-processing from. A model folder is

    card.json            this card (card.yaml is accepted when loading)
    model.safetensors    the weights (or model.onnx for an ingested ONNX model)
    training/            optional: history.json, mined.json, sampling.json written by `tsrgate train`
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gate import __version__
from gate.errors import InputError, IntegrityError, describe_validation_error
from gate.storage import atomic_write_json, sha256_file

CARD_JSON = "card.json"
CARD_YAML = "card.yaml"
CARD_FORMAT = 1
SAFETENSORS_FILE = "model.safetensors"
ONNX_FILE = "model.onnx"

Interpolation = Literal["nearest", "bilinear", "bicubic", "lanczos", "box", "hamming"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Normalization(_Strict):
    """Per-channel `(x - mean) / std` applied after rescaling, in the card's channel order."""

    mean: list[float] = Field(min_length=3, max_length=3)
    std: list[float] = Field(min_length=3, max_length=3)

    @field_validator("std")
    @classmethod
    def _positive(cls, value: list[float]) -> list[float]:
        if any(v <= 0 for v in value):
            raise ValueError(f"expected std > 0, got {value}")
        return value


class PreprocessingSpec(_Strict):
    """How a source RGB uint8 image becomes the model's input tensor (NCHW).

    resize:
      - `stretch`: resize to input_size ignoring aspect ratio (RTDetrImageProcessor's default);
      - `letterbox`: resize keeping aspect ratio to fit, pad the rest with `pad_value`;
      - `tiles`: no resize; cut the image into input_size tiles overlapping by at least
        `tile_overlap` pixels (padded with `pad_value` where the image is smaller); detections are
        merged back with per-class NMS (see PostprocessingSpec.tile_nms_iou).
    """

    input_size: tuple[int, int]  # (height, width) of the tensor the model sees
    resize: Literal["stretch", "letterbox", "tiles"] = "stretch"
    interpolation: Interpolation = "bilinear"
    pad_value: int = Field(default=0, ge=0, le=255)
    letterbox_align: Literal["top_left", "center"] = "top_left"
    tile_overlap: int = Field(default=0, ge=0)
    rescale_factor: float = Field(default=1.0 / 255.0, gt=0)
    normalize: Normalization | None = None
    channel_order: Literal["rgb", "bgr"] = "rgb"
    dtype: Literal["float32", "float16"] = "float32"

    @field_validator("input_size")
    @classmethod
    def _positive_size(cls, value: tuple[int, int]) -> tuple[int, int]:
        if value[0] <= 0 or value[1] <= 0:
            raise ValueError(f"expected input_size (height, width) > 0, got {value}")
        return value

    @model_validator(mode="after")
    def _overlap_fits(self) -> PreprocessingSpec:
        if self.resize == "tiles" and self.tile_overlap >= min(self.input_size):
            raise ValueError(
                f"tile_overlap: expected less than the tile size {min(self.input_size)}, got {self.tile_overlap}"
            )
        return self


class PostprocessingSpec(_Strict):
    """How raw outputs (logits, normalised cxcywh boxes) become `Detections`.

    score_threshold keeps the low-score tail that AP needs (strictly greater, as in transformers'
    post_process_object_detection); operating_threshold is the deployment decision point used for
    misses, disagreements and mining.
    """

    score_threshold: float = Field(default=0.001, ge=0, lt=1)
    operating_threshold: float = Field(default=0.5, gt=0, lt=1)
    top_k: int = Field(default=100, gt=0)
    tile_nms_iou: float = Field(default=0.5, gt=0, le=1)
    clip_boxes: bool = True  # clip to the source image (transformers does not; off for exact parity)


class ArchitectureSpec(_Strict):
    family: Literal["rt_detr"] = "rt_detr"
    size: str | None = None  # named size it was built from (tiny, small); None when ingested
    format: Literal["safetensors", "onnx"] = "safetensors"
    config: dict[str, Any] = Field(default_factory=dict)  # RTDetrConfig.to_dict(); empty for ONNX


class WeightsRecord(_Strict):
    file: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)
    parameters: int | None = None


class SplitSelector(_Strict):
    """Images whose tag (or top-level field) `tag` equals one of `values`; no tag means all images."""

    tag: str | None = None
    values: list[str] = Field(default_factory=list)

    def describe(self) -> str:
        return "all images" if self.tag is None else f"{self.tag} in {self.values}"


class TrainingDataRecord(_Strict):
    dataset_path: str
    annotations_sha256: str
    dataset_info: dict[str, Any] = Field(default_factory=dict)  # short fields of COCO `info` (generator, seed)
    train_split: SplitSelector
    validation_split: SplitSelector | None = None
    class_source: str  # "categories", "supercategory" or "mapping"
    train_images: int
    train_boxes: int


class RecipeRecord(_Strict):
    name: str
    sha256: str  # of the recipe's canonical JSON form
    content: dict[str, Any]


class MetricsRecord(_Strict):
    """COCO AP numbers (pycocotools) on one split; -1 means the bucket had no ground truth."""

    split: str
    images: int
    boxes: int
    ap: float
    ap50: float
    ap75: float
    ap_small: float
    ap_medium: float
    ap_large: float
    ar100: float
    per_class_ap50: dict[str, float] = Field(default_factory=dict)
    per_class_ap: dict[str, float] = Field(default_factory=dict)
    # Traffic-sign size buckets by box area (gate.eval's default scheme): tiny < 16^2, small
    # 16^2-32^2, medium 32^2-96^2, large > 96^2. Note ap_small above is COCO's (< 32^2).
    per_size_ap: dict[str, float] = Field(default_factory=dict)
    per_size_ap50: dict[str, float] = Field(default_factory=dict)
    step: int | None = None
    evaluator: str = "pycocotools"


class TrainingRecord(_Strict):
    data: TrainingDataRecord
    recipe: RecipeRecord
    seed: int
    steps: int
    threads: int
    libraries: dict[str, str]
    repeat_factor_threshold: float | None = None
    initialized_from: dict[str, Any] | None = None  # parent model name, weights sha256, tensors copied
    backbone_pretraining: dict[str, Any] | None = None  # summary of the classification pretraining stage
    validation_history: list[MetricsRecord] = Field(default_factory=list)


class ModelCard(_Strict):
    card_format: int = CARD_FORMAT
    name: str = Field(min_length=1)
    version: str = "1.0.0"
    description: str = ""
    architecture: ArchitectureSpec
    class_names: list[str] = Field(min_length=1)
    preprocessing: PreprocessingSpec
    postprocessing: PostprocessingSpec = Field(default_factory=PostprocessingSpec)
    weights: WeightsRecord
    training: TrainingRecord | None = None
    evaluation: list[MetricsRecord] = Field(default_factory=list)
    created_by: Literal["train", "ingest"] = "train"
    tsrgate_version: str = __version__

    @field_validator("class_names")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        seen = set()
        for name in value:
            if not name or name in seen:
                raise ValueError(f"expected unique non-empty class names, got {name!r} twice or empty")
            seen.add(name)
        return value

    @model_validator(mode="after")
    def _config_matches_classes(self) -> ModelCard:
        if self.architecture.format == "safetensors":
            if not self.architecture.config:
                raise ValueError("architecture.config: expected the RTDetrConfig of a safetensors model, got none")
            num_labels = config_num_labels(self.architecture.config)
            if num_labels != len(self.class_names):
                raise ValueError(
                    f"class_names: expected {num_labels} names (the config's num_labels), got {len(self.class_names)}"
                )
        return self

    @property
    def input_size(self) -> tuple[int, int]:
        return self.preprocessing.input_size

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def config_num_labels(config: dict[str, Any]) -> int:
    """Number of classes an RTDetrConfig dict declares (id2label, or num_labels when given)."""
    if "num_labels" in config:
        return int(config["num_labels"])
    return len(config.get("id2label") or {0: "", 1: ""})


def _first_error(exc: ValidationError) -> str:
    return describe_validation_error(exc, "model card")


def card_path(folder: str | Path) -> Path:
    """The card file of a model folder (card.json, else card.yaml); InputError when neither exists."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("model folder not found", path=folder)
    for name in (CARD_JSON, CARD_YAML):
        if (folder / name).is_file():
            return folder / name
    raise InputError(f"not a model folder: no {CARD_JSON} or {CARD_YAML}", path=folder)


def read_card_mapping(path: str | Path) -> dict[str, Any]:
    """The raw field mapping of a card file (JSON or YAML by extension), not yet validated."""
    path = Path(path)
    if not path.is_file():
        raise InputError("model card not found", path=path)
    try:
        text = path.read_text(encoding="utf-8")
        raw = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"model card is not valid {path.suffix.lstrip('.').upper()} ({exc})", path=path) from None
    if not isinstance(raw, dict):
        raise InputError("model card: expected a mapping of fields", path=path)
    return raw


def read_card_file(path: str | Path) -> ModelCard:
    """Parse and validate one card file (JSON or YAML by extension); problems are one InputError."""
    raw = read_card_mapping(path)
    try:
        return ModelCard.model_validate(raw)
    except ValidationError as exc:
        raise InputError(_first_error(exc), path=path) from None


def load_card(folder: str | Path, verify_weights: bool = True) -> ModelCard:
    """Load a model folder's card and (by default) check that it matches the weights beside it."""
    folder = Path(folder)
    card = read_card_file(card_path(folder))
    if verify_weights:
        verify_weights_file(card, folder)
    return card


def save_card(card: ModelCard, folder: str | Path) -> Path:
    """Write `card.json` atomically (stable key order, so a retrain writes the same bytes)."""
    path = Path(folder) / CARD_JSON
    atomic_write_json(path, card.to_json_dict())
    return path


def verify_weights_file(card: ModelCard, folder: str | Path) -> Path:
    """The card's weights file must exist, hash to the recorded sha256 and fit the card's classes."""
    folder = Path(folder)
    weights = folder / card.weights.file
    if not weights.is_file():
        raise InputError(f"weights file {card.weights.file} named by the card is missing", path=folder)
    digest = sha256_file(weights)
    if digest != card.weights.sha256:
        raise IntegrityError(
            f"sha256 {digest[:12]}... does not match the card's {card.weights.sha256[:12]}...", path=weights
        )
    if card.architecture.format == "safetensors":
        check_safetensors_classes(weights, card.num_classes)
    return weights


def check_safetensors_classes(weights: Path, num_classes: int) -> None:
    """The classification head's output width must equal the number of class names."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(weights), framework="np") as handle:
            keys = set(handle.keys())
            key = "model.enc_score_head.weight"
            if key not in keys:
                raise InputError(f"not an RT-DETR detector: no tensor {key}", path=weights)
            rows = handle.get_slice(key).get_shape()[0]
    except SafetensorError as exc:
        raise InputError(f"corrupt safetensors file ({exc})", path=weights) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"unreadable safetensors file ({exc})", path=weights) from None
    if rows != num_classes:
        raise InputError(
            f"the card names {num_classes} classes but the weights' classification head has {rows}", path=weights
        )
