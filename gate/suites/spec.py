"""The suite spec: a YAML file saying which images, which boxes, which transforms and which classes.

    name: gtsdb-night            # lower-case slug; the folder under suites/
    version: 1                   # bump on any content change (a rebuilt version must not drift)
    description: GTSDB test frames relit as night, severity 3
    seed: 41                     # with each image id, seeds that image's transforms
    source:                      # exactly one of `dataset` or `synth`
      dataset: ../../../../shared/datasets/gtsdb   # relative to the spec's folder (suites/<name>/<version>/)
      env: TSRGATE_GTSDB                  # optional: an environment variable that overrides the path
      annotations_sha256: 5d1c...         # optional: refuse any other annotations file
    # source: {synth: {images: 1000, seed: 7, version: "1"}}   # the generated world, regenerated on demand
    # kind: sequence + source: {drives: {drives: 24, frames: 40, fps: 5, seed: 3, version: "2"}}: generated
    #   drives (or a `dataset` of drives: image tags drive/frame/fps, annotation attribute track_id)
    selection:
      seeded_split: {seed: 17, test_fraction: 0.3, part: test}   # for a source without a split of its own
      tags: {gtsdb_split: test}  # image tags or top-level image fields; a list value means "any of"
      split: test                # shorthand for tags {split: test}; or {field: gtsdb_split, value: test}
      size: {min: 0, max: 16}    # box longer side in px, min <= side < max
      classes: [stop, give_way]  # class names or ids
      rare: {fewest: 5, counted_on: {split: train}}  # or {below: 20}: classes rare in a reference subset
      min_occluded: 0.3          # the box's `occluded` attribute
      negatives: drop            # keep or drop images left with no selected box
      max_images: 200            # a seeded, stable subset when more images qualify
    transforms:
      - {name: night, severity: 3, params: {horizon: 0.6}}
    taxonomy:                    # optional: score on an evaluation taxonomy instead of the source classes
      categories: [prohibitory, danger, mandatory, other]
      source: {by_field: supercategory}
      model: {identity: true, same_as_source: true, unmapped: ignore}
      # mapping_file: ../../taxonomies/italy-gtsdb.yaml   # instead of `source`: a reviewed mapping file
      # mapping_level: supercategory                      # or `class`
      # ignored: region           # `ignore` classes become ignore regions (default) or are dropped

Box criteria (size, classes, rare, min_occluded) all have to hold for a box to be selected; other
boxes in kept images become ignore regions. The spec's sha256 is taken over the canonical JSON of
the parsed YAML, so comments and layout do not count as changes but every value does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gate.data.coco import TagValue
from gate.data.splits import SeededSplit
from gate.errors import InputError, describe_validation_error
from gate.inputs import read_structured
from gate.storage import canonical_json, sha256_bytes
from gate.suites.transforms.registry import get_transform

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
VERSION_PATTERN = re.compile(r"^[0-9]+(\.[0-9]+)*$")
IGNORE = "ignore"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SynthSource(_Strict):
    """The generated world's parameters: enough to regenerate it anywhere."""

    images: int = Field(gt=0, le=100000)
    seed: int = Field(ge=0)
    version: str


class DriveSource(_Strict):
    """Generated drives (gate.data.synth.drive): enough to regenerate them anywhere."""

    drives: int = Field(gt=0, le=1000)
    frames: int = Field(gt=0, le=1000)
    fps: float = Field(gt=0, le=120)
    seed: int = Field(ge=0)
    version: str
    width: int = Field(384, ge=64, le=2048)
    height: int = Field(256, ge=64, le=2048)
    region: Literal["eu", "us"] = "eu"
    speed_kmh: tuple[float, float] = (40.0, 70.0)

    @model_validator(mode="after")
    def _speeds(self) -> DriveSource:
        low, high = self.speed_kmh
        if not 0 < low <= high:
            raise ValueError(f"speed_kmh must be [low, high] with 0 < low <= high, got {list(self.speed_kmh)}")
        return self


class SuiteSource(_Strict):
    dataset: str | None = None
    env: str | None = None
    annotations_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    synth: SynthSource | None = None
    drives: DriveSource | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> SuiteSource:
        if sum(v is not None for v in (self.dataset, self.synth, self.drives)) != 1:
            raise ValueError("give exactly one of `dataset` (a folder), `synth` (world parameters) or `drives` "
                             "(drive parameters)")
        if self.dataset is None and self.env is not None:
            raise ValueError("`env` only applies to a `dataset` source")
        return self

    @property
    def kind(self) -> Literal["dataset", "synth", "drives"]:
        if self.drives is not None:
            return "drives"
        return "synth" if self.synth is not None else "dataset"


TagCondition = TagValue | list[TagValue]


class SplitSelection(_Strict):
    field: str = "split"
    value: TagCondition


class SizeRange(_Strict):
    """Box longer side in pixels: min <= side < max."""

    min: float = Field(0.0, ge=0)
    max: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> SizeRange:
        if self.max is not None and self.max <= self.min:
            raise ValueError(f"max ({self.max}) must be greater than min ({self.min})")
        return self


class RareSelection(_Strict):
    """Rare classes, counted on a reference subset of the source (e.g. its training split).

    `fewest: K` takes the K classes with the fewest reference instances among the classes that have
    boxes in the selected images (ties by class id); `below: N` takes classes with fewer than N.
    """

    fewest: int | None = Field(None, gt=0)
    below: int | None = Field(None, gt=0)
    counted_on: dict[str, TagCondition] = Field(default_factory=dict)
    counted_on_split: SeededSplit | None = None  # for a source without split tags (e.g. its seeded train part)

    @model_validator(mode="after")
    def _one_rule(self) -> RareSelection:
        if (self.fewest is None) == (self.below is None):
            raise ValueError("give exactly one of `fewest` or `below`")
        return self


class Selection(_Strict):
    seeded_split: SeededSplit | None = None  # one part of a seeded hash split of the file names
    tags: dict[str, TagCondition] = Field(default_factory=dict)
    split: SplitSelection | TagCondition | None = None
    size: SizeRange | None = None
    classes: list[str | int] | None = Field(None, min_length=1)
    rare: RareSelection | None = None
    min_occluded: float | None = Field(None, ge=0, le=1)
    negatives: Literal["keep", "drop"] = "drop"
    max_images: int | None = Field(None, gt=0)

    def image_conditions(self) -> dict[str, TagCondition]:
        """Tag conditions an image must meet, with the split folded in."""
        conditions = dict(self.tags)
        if isinstance(self.split, SplitSelection):
            conditions[self.split.field] = self.split.value
        elif self.split is not None:
            conditions["split"] = self.split
        return conditions

    @property
    def has_box_criteria(self) -> bool:
        return any(c is not None for c in (self.size, self.classes, self.rare, self.min_occluded))


class TransformStep(_Strict):
    name: str
    severity: int
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> TransformStep:
        try:
            family = get_transform(self.name)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
        family.resolve(self.severity, self.params)  # raises ValueError naming the bad value
        return self


class SourceMapping(_Strict):
    """Source classes -> evaluation categories.

    `map` keys are class names or shell patterns (`speed_limit_*`); exact names win over patterns,
    then patterns in the order written. `by_field` maps a class to the value of one of its fields
    (e.g. `supercategory`). Values are category names or `ignore`.
    """

    by_field: str | None = None
    map: dict[str, str] = Field(default_factory=dict)
    unmapped: Literal["ignore", "error"] = "error"


class ModelMapping(_Strict):
    """Model class names -> evaluation categories, applied to predictions at evaluation time.

    Tried in order: `map` (names or patterns), a name equal to an evaluation category (`identity`),
    the source mapping applied to the name (`same_as_source`, for a model that predicts the source's
    own classes); anything else follows `unmapped`.
    """

    map: dict[str, str] = Field(default_factory=dict)
    identity: bool = True
    same_as_source: bool = True
    unmapped: Literal["ignore", "error"] = "ignore"


class TaxonomySpec(_Strict):
    """The evaluation taxonomy. Source classes come from `source` rules, or from a reviewed mapping file
    (`mapping_file`, relative to the spec's folder; see gate.suites.mapping) at `mapping_level`.

    `ignored` says what a source class mapped to `ignore` becomes: `region` (the default) keeps each of
    its boxes as an ignore region for every category (crowd-style: a detection on it is neither a true
    nor a false positive, and it is never a miss); `drop` removes the box, so a detection on it is a
    false positive.
    """

    categories: list[str] = Field(min_length=1)
    source: SourceMapping = Field(default_factory=SourceMapping)
    model: ModelMapping = Field(default_factory=ModelMapping)
    mapping_file: str | None = None
    mapping_level: Literal["supercategory", "class"] = "supercategory"
    ignored: Literal["region", "drop"] = "region"

    @model_validator(mode="after")
    def _targets_known(self) -> TaxonomySpec:
        if len(set(self.categories)) != len(self.categories):
            raise ValueError("taxonomy categories must be unique")
        if IGNORE in self.categories:
            raise ValueError(f"'{IGNORE}' is reserved and cannot be a category")
        known = set(self.categories) | {IGNORE}
        if self.mapping_file is not None and (self.source.map or self.source.by_field):
            raise ValueError("give either `mapping_file` or `source` rules, not both")
        for side, mapping in (("source", self.source.map), ("model", self.model.map)):
            for key, target in mapping.items():
                if target not in known:
                    raise ValueError(f"{side}.map['{key}'] -> '{target}' is not a taxonomy category or '{IGNORE}'")
        return self


class SuiteSpec(_Strict):
    name: str
    version: str
    # `sequence`: frames of drives, scored per frame and per sign track (see gate.data.sequence).
    kind: Literal["frames", "sequence"] = "frames"
    description: str = ""
    seed: int = Field(ge=0)
    source: SuiteSource
    selection: Selection = Field(default_factory=Selection)
    transforms: list[TransformStep] = Field(default_factory=list)
    taxonomy: TaxonomySpec | None = None

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError(f"name must be a lower-case slug (letters, digits, '-'), got {value!r}")
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> str:
        text = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        if not isinstance(text, str) or not VERSION_PATTERN.match(text):
            raise ValueError(f"version must look like 1 or 1.2, got {value!r}")
        return text

    @model_validator(mode="after")
    def _sequence_fits(self) -> SuiteSpec:
        if self.source.drives is not None and self.kind != "sequence":
            raise ValueError("a `drives` source makes a sequence suite: add `kind: sequence`")
        if self.kind == "sequence" and self.source.synth is not None:
            raise ValueError("a sequence suite needs a `drives` source or a dataset of drives, not `synth` stills")
        if self.kind == "sequence" and self.selection.max_images is not None:
            raise ValueError("a sequence suite keeps whole drives: `selection.max_images` is not allowed")
        return self


class LoadedSpec(BaseModel):
    """A validated spec with where it came from and the hash of its content."""

    model_config = ConfigDict(frozen=True)

    spec: SuiteSpec
    path: Path
    sha256: str
    raw: dict[str, Any]


def spec_sha256(raw: dict[str, Any]) -> str:
    """The content hash of a parsed spec (canonical JSON: key order and YAML layout do not matter)."""
    return sha256_bytes(canonical_json(raw))


def parse_spec(raw: Any, path: str | Path) -> LoadedSpec:
    """Validate an already-parsed spec mapping; any problem is one InputError naming `path`."""
    if not isinstance(raw, dict):
        raise InputError("a suite spec must be a YAML mapping (name, version, source, ...)", path=path)
    try:
        content = spec_sha256(raw)
    except (TypeError, ValueError):
        raise InputError("spec values must be plain YAML (text, numbers, lists, mappings with text keys)",
                         path=path) from None
    try:
        spec = SuiteSpec.model_validate(raw)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, "suite spec"), path=path) from None
    return LoadedSpec(spec=spec, path=Path(path), sha256=content, raw=raw)


def load_spec(path: str | Path) -> LoadedSpec:
    """Read and validate a spec YAML file."""
    path = Path(path)
    return parse_spec(read_structured(path, "suite spec", fmt="yaml"), path)
