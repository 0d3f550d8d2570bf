"""The one reader of input files: exists -> parse JSON or YAML -> validate -> one-line `InputError`.

Every loader of a user-supplied or stage file (suite spec, policy, gate config, recipe, card,
COCO annotations, run record, verdict, manifest, ...) reads through here, so each problem reads the
same way and always names the file:

    path: not found
    path: not valid YAML (line 3, column 7: mapping values are not allowed here)
    path: invalid policy at rules.0.metric: unknown metric 'ap5'

YAML is read with a safe loader that also refuses what would exhaust memory or the stack before
anything is built from it: aliases that expand beyond `MAX_YAML_NODES` nodes (the "billion laughs"
file of a few hundred bytes that expands to gigabytes), recursive aliases and nesting deeper than
`MAX_YAML_DEPTH`. It reads exponent floats without a dot (`1e-05`) as numbers, as YAML 1.2 and
JSON do (PyYAML's YAML 1.1 rules read them as text).

This module sits at the bottom of the package: it imports only gate.errors, the standard library,
yaml and pydantic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from gate.errors import GateError, InputError, describe_validation_error

# Far above any hand-written file (the default policy is about 600 nodes), far below what hurts.
MAX_YAML_NODES = 1_000_000
MAX_YAML_DEPTH = 200

Format = Literal["json", "yaml"]
ModelT = TypeVar("ModelT", bound=BaseModel)

_YAML_SUFFIXES = (".yaml", ".yml")


class _Refused(Exception):
    """A YAML document refused before it is built (too large when expanded, recursive, too deep)."""


class _InputLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2's float forms (`1e-05`, `1E5`) resolved as floats, and a
    nesting bound checked while composing (before Python's own recursion limit is hit slowly)."""

    _depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _Refused(f"nested deeper than {MAX_YAML_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_InputLoader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_FLOAT_12 = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$")
_InputLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789."))


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """`not valid YAML (line L, column C: problem)` from PyYAML's multi-line message."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = _one_line(exc.problem or exc.context or "syntax error")
        if exc.context and problem.startswith("but "):  # "expected a single document ... but found another"
            problem = f"{_one_line(exc.context)} {problem}"
        if mark is not None:
            return f"not valid YAML (line {mark.line + 1}, column {mark.column + 1}: {problem})"
        return f"not valid YAML ({problem})"
    return f"not valid YAML ({_one_line(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)})"


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a node graph whose aliases expand beyond MAX_YAML_NODES, recurse, or nest too deeply.

    Aliases share node objects, so the expanded size of every distinct node is computed once
    (memoised): the cost is linear in the file, not in what it would expand to."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise _Refused("an alias refers to a node that contains it (recursive alias)")
        if depth > MAX_YAML_DEPTH:
            raise _Refused(f"nested deeper than {MAX_YAML_DEPTH} levels")
        total = 1
        if isinstance(node, (yaml.SequenceNode, yaml.MappingNode)):
            open_nodes.add(key)
            children = node.value if isinstance(node, yaml.SequenceNode) else [n for pair in node.value for n in pair]
            for child in children:
                total += size(child, depth + 1)
                if total > MAX_YAML_NODES:
                    raise _Refused(f"aliases expand to more than {MAX_YAML_NODES:,} nodes (an alias bomb?)")
            open_nodes.discard(key)
        sizes[key] = total
        return total

    size(root, 0)


def parse_yaml(text: str, path: str | Path | None = None) -> Any:
    """Parse YAML text safely and within bounds; any problem is one `InputError` naming `path`."""
    loader = _InputLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise InputError(_yaml_problem(exc), path=path) from None
    except _Refused as exc:
        raise InputError(f"refused YAML: {exc}", path=path) from None
    except (ValueError, TypeError) as exc:  # a scalar its tag cannot hold, e.g. the date 2024-13-45
        raise InputError(f"not valid YAML ({_one_line(exc)})", path=path) from None
    except RecursionError:
        raise InputError(f"refused YAML: nested deeper than {MAX_YAML_DEPTH} levels", path=path) from None
    finally:
        loader.dispose()


def parse_json(text: str, path: str | Path | None = None) -> Any:
    """Parse JSON text; a syntax error is one `InputError` naming `path`, line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", path=path) from None
    except RecursionError:
        raise InputError("refused JSON: nested too deeply", path=path) from None


def read_text(path: str | Path, what: str = "file") -> str:
    """A UTF-8 text file's content; missing, a folder, unreadable or not UTF-8 is one `InputError`."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{what} not found", path=path) from None
    except IsADirectoryError:
        raise InputError(f"{what} expected, found a folder", path=path) from None
    except NotADirectoryError:
        raise InputError(f"{what} not found (a parent of the path is a file)", path=path) from None
    except PermissionError:
        raise InputError(f"{what} is not readable (permission denied)", path=path) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} is not UTF-8 text (byte {exc.start})", path=path) from None
    except OSError as exc:
        raise InputError(f"{what} could not be read ({exc.strerror or type(exc).__name__})", path=path) from None


def file_format(path: str | Path, default: Format = "json") -> Format:
    """YAML for .yaml/.yml files, else `default`."""
    return "yaml" if Path(path).suffix.lower() in _YAML_SUFFIXES else default


def read_structured(path: str | Path, what: str = "file", fmt: Format | None = None) -> Any:
    """Read and parse one JSON or YAML file (by `fmt`, else by suffix: .yaml/.yml is YAML, else JSON).

    YAML is a superset of JSON, so files given as YAML may be written in JSON."""
    text = read_text(path, what)
    fmt = fmt or file_format(path)
    return parse_yaml(text, path) if fmt == "yaml" else parse_json(text, path)


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", type(None): "an empty document",
            bool: "a boolean"}.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def require_mapping(raw: Any, path: str | Path | None, what: str) -> dict[str, Any]:
    """`raw` if it is a mapping with text keys, else one `InputError` naming `path`."""
    if not isinstance(raw, dict):
        raise InputError(f"{what}: expected a mapping of fields, got {_type_name(raw)}", path=path)
    bad = next((k for k in raw if not isinstance(k, str)), None)
    if bad is not None:
        raise InputError(f"{what}: keys must be text, got {bad!r}", path=path)
    return raw


def validate(raw: Any, model: type[ModelT], path: str | Path | None, what: str, *,
             unknown_key: str | None = None, error: type[GateError] = InputError,
             describe: Callable[[ValidationError], str] | None = None) -> ModelT:
    """Validate a parsed mapping against `model`; the first problem is one `error` naming file and key.

    `describe` replaces the usual one-line wording of a validation error (e.g. a verdict names the field
    as a JSON path, since verdicts are edited by hand)."""
    require_mapping(raw, path, what)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problem = describe(exc) if describe else describe_validation_error(exc, what, unknown_key=unknown_key)
        raise error(problem, path=path) from None
    except RecursionError:
        raise error(f"invalid {what}: nested too deeply", path=path) from None


def load_model(path: str | Path, model: type[ModelT], what: str, *, fmt: Format | None = None,
               unknown_key: str | None = None) -> ModelT:
    """exists -> parse (JSON or YAML) -> validate: the whole road from a file to a typed object."""
    return validate(read_structured(path, what, fmt), model, path, what, unknown_key=unknown_key)
