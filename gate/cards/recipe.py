"""Training recipes (YAML, strict): everything `tsrgate train` needs besides the dataset.

Every section forbids unknown keys, so a typo (`batchsize`) is an error rather than a silently
ignored setting. A recipe's sha256 is taken over its canonical JSON form (after defaults are
filled in), so two YAML files that say the same thing hash the same.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gate.errors import InputError, describe_validation_error
from gate.cards.card import PostprocessingSpec, PreprocessingSpec, SplitSelector
from gate.storage import canonical_json, sha256_bytes


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSection(_Strict):
    size: Literal["tiny", "small"] = "tiny"
    preprocessing: PreprocessingSpec
    postprocessing: PostprocessingSpec = Field(default_factory=PostprocessingSpec)


class OptimizerSection(_Strict):
    name: Literal["adamw"] = "adamw"
    lr: float = Field(default=4e-4, gt=0)
    backbone_lr_multiplier: float = Field(default=1.0, gt=0)
    weight_decay: float = Field(default=1e-4, ge=0)
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip_norm: float | None = Field(default=0.1, gt=0)


class ScheduleSection(_Strict):
    name: Literal["cosine", "constant"] = "cosine"
    warmup_steps: int = Field(default=100, ge=0)
    min_lr_ratio: float = Field(default=0.05, ge=0, le=1)


class PhotometricSection(_Strict):
    """Colour changes; probabilities are per training sample, strengths are +- ranges."""

    brightness: float = Field(default=0.25, ge=0, lt=1)
    contrast: float = Field(default=0.25, ge=0, lt=1)
    saturation: float = Field(default=0.25, ge=0, lt=1)
    noise_std: float = Field(default=0.0, ge=0)  # Gaussian pixel noise, in 0-255 units (maximum)
    blur_prob: float = Field(default=0.0, ge=0, le=1)
    night_prob: float = Field(default=0.0, ge=0, le=1)  # darken (gamma), blue tint, sensor noise
    rain_prob: float = Field(default=0.0, ge=0, le=1)  # streaks, lower contrast, slight blur
    fog_prob: float = Field(default=0.0, ge=0, le=1)  # blend towards a grey veil


class GeometricSection(_Strict):
    """Scale jitter and crops at native resolution, so small signs stay small but alive.

    There is deliberately no horizontal flip: arrows and bends have a direction (a flipped
    turn_left_ahead is a turn_right_ahead).
    """

    scale_jitter: tuple[float, float] = (0.8, 1.25)
    crop_around_sign_prob: float = Field(default=0.8, ge=0, le=1)
    min_visible_fraction: float = Field(default=0.6, gt=0, le=1)
    min_box_size: float = Field(default=2.0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _no_flip(cls, data: Any) -> Any:
        if isinstance(data, dict) and any("flip" in str(key) for key in data):
            raise ValueError("horizontal flip is not supported: arrows and bends have a direction")
        return data

    @field_validator("scale_jitter")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not 0 < value[0] <= value[1]:
            raise ValueError(f"expected 0 < low <= high, got {value}")
        return value


class AugmentationSection(_Strict):
    photometric: PhotometricSection = Field(default_factory=PhotometricSection)
    geometric: GeometricSection = Field(default_factory=GeometricSection)


class SamplingSection(_Strict):
    """Repeat-factor sampling (LVIS): image weight max_c max(1, sqrt(t / f_c)); 0 turns it off."""

    repeat_factor_threshold: float = Field(default=0.1, ge=0, le=1)


class MiningSection(_Strict):
    """After each evaluation round, training images with missed or confused signs get more weight."""

    enabled: bool = True
    images_per_round: int = Field(default=64, gt=0)
    weight_boost: float = Field(default=1.0, gt=0)  # a hard image's weight is multiplied by 1 + boost
    max_weight: float = Field(default=4.0, ge=1)
    match_iou: float = Field(default=0.5, gt=0, le=1)


class LossSection(_Strict):
    """Weights of RT-DETR's loss terms and of its Hungarian matcher's costs (transformers' defaults).

    Raising `class_weight` spends more of the gradient on telling classes apart, for a detector that
    already places its boxes but confuses look-alike signs (speed-limit digits).
    """

    class_weight: float = Field(default=1.0, gt=0)  # RTDetrConfig.weight_loss_vfl
    box_l1_weight: float = Field(default=5.0, gt=0)  # weight_loss_bbox
    giou_weight: float = Field(default=2.0, gt=0)  # weight_loss_giou
    matcher_class_cost: float = Field(default=2.0, ge=0)
    matcher_bbox_cost: float = Field(default=5.0, ge=0)
    matcher_giou_cost: float = Field(default=2.0, ge=0)

    def config_overrides(self) -> dict[str, float]:
        return {
            "weight_loss_vfl": self.class_weight, "weight_loss_bbox": self.box_l1_weight,
            "weight_loss_giou": self.giou_weight, "matcher_class_cost": self.matcher_class_cost,
            "matcher_bbox_cost": self.matcher_bbox_cost, "matcher_giou_cost": self.matcher_giou_cost,
        }


class EvaluationSection(_Strict):
    interval: int = Field(default=0, ge=0)  # steps between validation rounds; 0: only at the end
    max_images: int | None = Field(default=None, gt=0)  # validate on the first N images (by id)


class BackbonePretrainingSection(_Strict):
    """Classification pretraining of the backbone on sign crops before detection (see
    gate.models.backbone_pretraining); it replaces the pretrained weights that cannot be downloaded."""

    steps: int = Field(gt=0)
    batch_size: int = Field(default=32, gt=1)
    crop_size: int = Field(default=64, ge=32)
    lr: float = Field(default=1e-3, gt=0)
    weight_decay: float = Field(default=1e-4, ge=0)
    warmup_steps: int = Field(default=100, ge=0)
    background_fraction: float = Field(default=0.2, ge=0, lt=1)
    scale_jitter: tuple[float, float] = (0.8, 1.25)


class ClassesSection(_Strict):
    """Which classes the detector learns.

    - `categories`: the dataset's categories in id order (`names`, if given, must equal them);
    - `supercategory`: one class per supercategory, in the order of `names` (required);
    - `mapping`: explicit {class name: [category names]} in the order written.
    """

    source: Literal["categories", "supercategory", "mapping"] = "categories"
    names: list[str] | None = None
    mapping: dict[str, list[str]] | None = None

    @model_validator(mode="after")
    def _complete(self) -> ClassesSection:
        if self.source == "supercategory" and not self.names:
            raise ValueError("classes.names: expected the supercategory order, got none")
        if self.source == "mapping" and not self.mapping:
            raise ValueError("classes.mapping: expected {class: [category names]}, got none")
        return self


class SplitsSection(_Strict):
    train: SplitSelector = Field(default_factory=SplitSelector)
    validate_on: SplitSelector | None = None
    test_on: SplitSelector | None = None


class InitSection(_Strict):
    """Start from another model's weights (fine-tuning): every tensor whose name and shape match is copied;
    the rest (e.g. classification heads when the classes differ) keep their fresh initialisation."""

    model: str  # model folder, relative to the working directory
    weights_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")  # pins the exact parent


class Recipe(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    model: ModelSection
    steps: int | None = Field(default=None, gt=0)
    epochs: float | None = Field(default=None, gt=0)
    batch_size: int = Field(default=4, gt=0)
    threads: int = Field(default=2, gt=0)
    seed: int = 0
    init_from: InitSection | None = None
    backbone_pretraining: BackbonePretrainingSection | None = None
    checkpoint_interval: int = Field(default=200, gt=0)
    optimizer: OptimizerSection = Field(default_factory=OptimizerSection)
    loss: LossSection | None = None  # None: transformers' defaults
    schedule: ScheduleSection = Field(default_factory=ScheduleSection)
    augmentation: AugmentationSection = Field(default_factory=AugmentationSection)
    sampling: SamplingSection = Field(default_factory=SamplingSection)
    mining: MiningSection = Field(default_factory=MiningSection)
    evaluation: EvaluationSection = Field(default_factory=EvaluationSection)
    classes: ClassesSection = Field(default_factory=ClassesSection)
    splits: SplitsSection = Field(default_factory=SplitsSection)

    @model_validator(mode="after")
    def _one_length(self) -> Recipe:
        if (self.steps is None) == (self.epochs is None):
            raise ValueError("expected exactly one of steps or epochs")
        return self

    def total_steps(self, train_images: int) -> int:
        if self.steps is not None:
            return self.steps
        return max(1, math.ceil(self.epochs * train_images / self.batch_size))

    def canonical(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        # Sections added after recipes were first pinned are left out while unused, so an older
        # recipe keeps its sha256 (and its interrupted runs stay resumable).
        for optional in ("backbone_pretraining", "loss"):
            if data.get(optional) is None:
                data.pop(optional, None)
        return data

    def sha256(self) -> str:
        return sha256_bytes(canonical_json(self.canonical()))


def _first_error(exc: ValidationError) -> str:
    return describe_validation_error(exc, "recipe", unknown_key="unknown key (not a recipe setting)")


def parse_recipe(raw: Any, path: str | Path | None = None) -> Recipe:
    if not isinstance(raw, dict):
        raise InputError("recipe: expected a mapping of settings", path=path)
    try:
        return Recipe.model_validate(raw)
    except ValidationError as exc:
        raise InputError(_first_error(exc), path=path) from None


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate a YAML (or JSON) recipe; any problem is one InputError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise InputError("recipe file not found", path=path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"recipe is not valid YAML ({exc})", path=path) from None
    return parse_recipe(raw, path)
