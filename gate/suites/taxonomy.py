"""Evaluation taxonomies: the categories a suite is scored on, and how source and model classes map in.

The source side is resolved once, at build time, into a plain table stored in the manifest (every
source class -> a category name, or None for "ignore"). The model side stays a small set of rules,
because the model's classes are only known when predictions arrive: `EvaluationTaxonomy.model_category_id`
maps a predicted class name at evaluation time, so one prediction run serves every taxonomy.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from gate.data.coco import CocoCategory
from gate.errors import InputError
from gate.suites.spec import IGNORE, ModelMapping, TaxonomySpec

_PATTERN_CHARS = set("*?[")


def is_pattern(key: str) -> bool:
    return any(ch in _PATTERN_CHARS for ch in key)


class TaxonomyCategory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int
    name: str
    supercategory: str = ""


class EvaluationTaxonomy(BaseModel):
    """What a suite is scored on; stored in the manifest and loaded back equal."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="'source' (the dataset's own classes) or 'custom' (a spec taxonomy)")
    categories: list[TaxonomyCategory]
    source_map: dict[str, str | None] = Field(description="source class name -> category name, None = ignore")
    model_rules: ModelMapping
    mapping_file: str | None = Field(None, description="the reviewed mapping file, as the spec names it")
    mapping_sha256: str | None = Field(None, description="sha256 of the mapping file's bytes")

    def category_ids(self) -> dict[str, int]:
        return {c.name: c.id for c in self.categories}

    def coco_categories(self) -> list[CocoCategory]:
        return [CocoCategory(id=c.id, name=c.name, supercategory=c.supercategory) for c in self.categories]

    def _target_id(self, target: str | None) -> int | None:
        return None if target is None or target == IGNORE else self.category_ids()[target]

    def model_category_id(self, model_class: str) -> int | None:
        """The evaluation category id for a predicted class name, or None when it is ignored.

        Raises InputError when the rules say unmapped model classes are errors.
        """
        rules = self.model_rules
        if model_class in rules.map:
            return self._target_id(rules.map[model_class])
        for key, target in rules.map.items():
            if is_pattern(key) and fnmatch.fnmatchcase(model_class, key):
                return self._target_id(target)
        ids = self.category_ids()
        if rules.identity and model_class in ids:
            return ids[model_class]
        if rules.same_as_source and model_class in self.source_map:
            return self._target_id(self.source_map[model_class])
        if rules.unmapped == "error":
            raise InputError(f"model class '{model_class}' has no category in this suite's taxonomy "
                             f"({', '.join(ids)}); map it in taxonomy.model.map")
        return None

    def model_class_table(self, model_classes: list[str]) -> dict[str, int | None]:
        """model class name -> evaluation category id (None = ignored), for a whole label set."""
        return {name: self.model_category_id(name) for name in model_classes}


def _field_value(category: CocoCategory, field: str) -> str | None:
    if field in ("name", "supercategory"):
        return getattr(category, field) or None
    value = (category.model_extra or {}).get(field)
    return None if value is None else str(value)


def identity_taxonomy(source_categories: list[CocoCategory]) -> EvaluationTaxonomy:
    """Score on the source's own classes (ids kept): what a suite without `taxonomy` uses."""
    return EvaluationTaxonomy(
        kind="source",
        categories=[TaxonomyCategory(id=c.id, name=c.name, supercategory=c.supercategory) for c in source_categories],
        source_map={c.name: c.name for c in source_categories},
        model_rules=ModelMapping(identity=True, same_as_source=False, unmapped="ignore"),
    )


def resolve_taxonomy(spec: TaxonomySpec | None, source_categories: list[CocoCategory],
                     spec_path: str | Path) -> EvaluationTaxonomy:
    """Resolve the spec's taxonomy against the source classes; a name it cannot place is an InputError."""
    if spec is None:
        return identity_taxonomy(source_categories)
    if spec.mapping_file is not None:
        return _taxonomy_from_mapping_file(spec, source_categories, spec_path)
    names = [c.name for c in source_categories]
    rules = spec.source
    for key in rules.map:
        if is_pattern(key):
            if not fnmatch.filter(names, key):
                raise InputError(f"taxonomy.source.map pattern '{key}' matches no source class", path=spec_path)
        elif key not in names:
            raise InputError(f"taxonomy.source.map names unknown class '{key}' (not in the source dataset)",
                             path=spec_path)
    allowed = set(spec.categories) | {IGNORE}
    source_map: dict[str, str | None] = {}
    for category in source_categories:
        target: str | None = None
        if category.name in rules.map:
            target = rules.map[category.name]
        else:
            target = next((t for k, t in rules.map.items() if is_pattern(k) and fnmatch.fnmatchcase(category.name, k)),
                          None)
        if target is None and rules.by_field is not None:
            value = _field_value(category, rules.by_field)
            if value is not None:
                if value not in allowed:
                    raise InputError(f"taxonomy.source.by_field '{rules.by_field}' gives '{value}' for class "
                                     f"'{category.name}', which is not a taxonomy category", path=spec_path)
                target = value
        if target is None:
            if rules.unmapped == "error":
                raise InputError(f"taxonomy: source class '{category.name}' is not mapped (add it to "
                                 "taxonomy.source.map or set taxonomy.source.unmapped: ignore)", path=spec_path)
            target = IGNORE
        source_map[category.name] = None if target == IGNORE else target
    return EvaluationTaxonomy(
        kind="custom",
        categories=[TaxonomyCategory(id=i, name=n) for i, n in enumerate(spec.categories, start=1)],
        source_map=source_map,
        model_rules=spec.model,
    )


def _taxonomy_from_mapping_file(spec: TaxonomySpec, source_categories: list[CocoCategory],
                                spec_path: str | Path) -> EvaluationTaxonomy:
    from gate.suites.mapping import check_covers, load_mapping

    assert spec.mapping_file is not None
    loaded = load_mapping(Path(os.path.normpath(Path(spec_path).parent / spec.mapping_file)))
    check_covers(loaded, source_categories)
    source_map = {c.name: loaded.mapping.target(c.name, spec.mapping_level) for c in source_categories}
    missing = sorted({t for t in source_map.values() if t is not None} - set(spec.categories))
    if missing:
        raise InputError(f"taxonomy.categories lacks {missing[:3]}, which the mapping file gives at level "
                         f"'{spec.mapping_level}'", path=spec_path)
    return EvaluationTaxonomy(
        kind="custom",
        categories=[TaxonomyCategory(id=i, name=n) for i, n in enumerate(spec.categories, start=1)],
        source_map=source_map,
        model_rules=spec.model,
        mapping_file=spec.mapping_file,
        mapping_sha256=loaded.sha256,
    )


def source_category_table(taxonomy: EvaluationTaxonomy, source_categories: list[CocoCategory]) -> dict[int, int | None]:
    """source category id -> evaluation category id (None = the box is not scored)."""
    ids = taxonomy.category_ids()
    table: dict[int, int | None] = {}
    for category in source_categories:
        target = taxonomy.source_map.get(category.name)
        table[category.id] = None if target is None else ids[target]
    return table
