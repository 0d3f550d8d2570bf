"""Reviewed taxonomy mappings: a versioned YAML file placing every class of a source dataset in a model's taxonomy.

    name: italy-gtsdb
    version: 1
    card: ../../models/gtsdb-v1/card.json    # relative to this file: the model whose taxonomy is the target
    source_annotations_sha256: 9839...        # optional: the source dataset it was reviewed against
    classes:
      dare_precedenza: {supercategory: other, class: give_way}   # GTSDB files give way under "other"
      caduta_massi: {supercategory: danger, class: null}         # a danger triangle GTSDB lacks
      parcheggio: ignore                                          # blue square: no counterpart at all

Each source class is either `ignore` (no counterpart: its boxes become ignore regions) or placed at
two levels: `supercategory` (one of the card's classes) and `class` (the source class of the card,
listed in its `class_sources`, that is the same sign; null when there is none, which makes it an
ignore region when a suite scores at that level). Loading checks the file is a mapping, names no
class twice, and names only targets the card knows; `check_covers` checks it against the dataset.
A suite that uses the file records its sha256 in the manifest, so a changed mapping is a changed suite.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gate.data.coco import CocoCategory
from gate.errors import GateError, InputError, describe_validation_error
from gate.storage import sha256_bytes

IGNORE = "ignore"
Level = Literal["supercategory", "class"]


class MappedClass(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    supercategory: str
    class_name: str | None = Field(default=None, alias="class")


class TaxonomyMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    version: str | int
    card: str = Field(min_length=1)
    source_annotations_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    classes: dict[str, Literal["ignore"] | MappedClass] = Field(min_length=1)

    def target(self, source_class: str, level: Level) -> str | None:
        """The class a source class is scored as at `level`, or None when it is an ignore region."""
        entry = self.classes[source_class]
        if entry == IGNORE:
            return None
        return entry.supercategory if level == "supercategory" else entry.class_name


@dataclass(frozen=True)
class LoadedMapping:
    mapping: TaxonomyMapping
    path: Path
    sha256: str  # of the file's bytes: comments are part of the review, so they count too


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys silently; a mapping file must not map a class twice."""


def _construct_unique(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise InputError(f"'{key}' is mapped twice (line {key_node.start_mark.line + 1})")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique)


def _load_card_classes(card_path: Path, mapping_path: Path) -> tuple[list[str], set[str]]:
    from gate.cards.card import card_path as card_file, read_card_file

    try:
        card = read_card_file(card_path if card_path.suffix == ".json" else card_file(card_path))
    except GateError as exc:
        raise InputError(f"card: {card_path} cannot be loaded ({exc.problem})", path=mapping_path) from None
    return card.class_names, card.known_source_classes()


def load_mapping(path: str | Path) -> LoadedMapping:
    """Read and validate a mapping file; any problem is one InputError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise InputError("taxonomy mapping file not found", path=path)
    data = path.read_bytes()
    try:
        raw = yaml.load(data.decode("utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except InputError as exc:
        raise InputError(exc.problem, path=path) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid YAML ({str(exc).strip().splitlines()[0]})", path=path) from None
    if not isinstance(raw, dict):
        raise InputError("a taxonomy mapping must be a YAML mapping (name, version, card, classes)", path=path)
    if "classes" in raw and not isinstance(raw["classes"], dict):
        raise InputError("classes: expected a mapping of source class -> {supercategory, class} or ignore",
                         path=path)
    try:
        mapping = TaxonomyMapping.model_validate(raw)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, "taxonomy mapping"), path=path) from None
    card_path = (path.parent / mapping.card).resolve()
    supercategories, source_classes = _load_card_classes(card_path, path)
    for name, entry in mapping.classes.items():
        if entry == IGNORE:
            continue
        if entry.supercategory not in supercategories:
            raise InputError(f"classes.{name}: supercategory '{entry.supercategory}' is not a class of the "
                             f"model card ({', '.join(supercategories)})", path=path)
        if entry.class_name is not None and entry.class_name not in source_classes:
            known = "it lists none (no class_sources)" if not source_classes else "see its class_sources"
            raise InputError(f"classes.{name}: class '{entry.class_name}' is not known to the model card "
                             f"({known})", path=path)
    return LoadedMapping(mapping, path, sha256_bytes(data))


def check_covers(loaded: LoadedMapping, source_categories: list[CocoCategory]) -> None:
    """Every source class mapped or ignored, and no mapped class the source lacks."""
    names = [c.name for c in source_categories]
    missing = [n for n in names if n not in loaded.mapping.classes]
    if missing:
        raise InputError(f"source class '{missing[0]}' is neither mapped nor ignored"
                         + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""), path=loaded.path)
    unknown = sorted(set(loaded.mapping.classes) - set(names))
    if unknown:
        raise InputError(f"classes.{unknown[0]} is not a class of the source dataset", path=loaded.path)
