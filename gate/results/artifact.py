"""The one way a stage file is saved and loaded: a pydantic model, written atomically, read with a one-line error.

Every file a stage writes into a results folder (run record, consistency, latency, parity) and the verdict
subclass `Artifact`, so each has exactly one `save` and one `load`, and no stage reads another's JSON raw.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from gate.errors import InputError, describe_validation_error
from gate.storage import atomic_write_json

A = TypeVar("A", bound="Artifact")


class Strict(BaseModel):
    """A section of a stage file that refuses unknown keys (a typo or a file of another version)."""

    model_config = ConfigDict(extra="forbid")


class Artifact(BaseModel):
    """A typed stage file. `what` names it in error messages ("run record", "latency file", ...)."""

    what: ClassVar[str] = "file"

    def save(self, path: str | Path) -> None:
        atomic_write_json(path, self.model_dump(mode="json"))

    @classmethod
    def load(cls: type[A], path: str | Path) -> A:
        """Read and validate; a missing, unreadable or invalid file is an InputError naming the file and field."""
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{cls.what} not found", path=path) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{cls.what} is not valid JSON ({exc})", path=path) from None
        cls.check_header(raw, path)
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise InputError(cls.describe_invalid(exc), path=path) from None

    @classmethod
    def describe_invalid(cls, exc: ValidationError) -> str:
        """The one line that names the first invalid field."""
        return describe_validation_error(exc, cls.what)

    @classmethod
    def check_header(cls, raw: object, path: Path) -> None:
        """Refuse a file of another kind or format before validating it (overridden where files carry one)."""
        if not isinstance(raw, dict):
            raise InputError(f"{cls.what}: expected a JSON object", path=path)
