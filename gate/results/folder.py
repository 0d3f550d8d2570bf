"""Sealing and verifying a results folder.

A results folder is complete only when its index file exists: `tsrgate run` writes everything
else first (in a staging folder) and the index last, listing every file with its sha256. A folder
without the index is an interrupted run; a file whose hash differs from the index was tampered
with. Both are refused before any number is read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from gate import __version__
from gate.errors import InputError, IntegrityError
from gate.storage import atomic_write_json, sha256_file

RESULTS_INDEX = "results-index.json"
RESULTS_FORMAT = 1


class ResultsIndex(BaseModel):
    """The seal of a results folder: format, producer version, a free-form header and file hashes."""

    format: int = RESULTS_FORMAT
    tsrgate_version: str = __version__
    kind: str = "run"
    header: dict[str, Any] = Field(default_factory=dict)
    files: dict[str, str]  # relative posix path -> sha256


def _listed_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.name != RESULTS_INDEX and not p.name.startswith(".")
    )


def seal_results_folder(folder: str | Path, kind: str = "run", header: dict[str, Any] | None = None) -> ResultsIndex:
    """Hash every file in `folder` and write the index last, which marks the folder complete."""
    folder = Path(folder)
    files = {p.relative_to(folder).as_posix(): sha256_file(p) for p in _listed_files(folder)}
    index = ResultsIndex(kind=kind, header=header or {}, files=files)
    atomic_write_json(folder / RESULTS_INDEX, index.model_dump(mode="json"))
    return index


def load_results_index(folder: str | Path, verify: bool = True) -> ResultsIndex:
    """Read a results folder's index; refuse interrupted, foreign or tampered folders."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("results folder not found", path=folder)
    index_path = folder / RESULTS_INDEX
    if not index_path.is_file():
        raise InputError(f"incomplete results folder (no {RESULTS_INDEX}): an interrupted run?", path=folder)
    try:
        index = ResultsIndex.model_validate(json.loads(index_path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise InputError(f"unreadable results index ({type(exc).__name__})", path=index_path) from None
    if index.format != RESULTS_FORMAT:
        raise InputError(f"results format {index.format} is not supported (expected {RESULTS_FORMAT})", path=index_path)
    if verify:
        verify_results_folder(folder, index)
    return index


def verify_results_folder(folder: Path, index: ResultsIndex) -> None:
    """Every listed file exists with its recorded hash, and no unlisted file was added."""
    for rel, expected in sorted(index.files.items()):
        path = folder / rel
        if not path.is_file():
            raise IntegrityError("file listed in the results index is missing", path=path)
        if sha256_file(path) != expected:
            raise IntegrityError("sha256 differs from the results index (file changed after the run)", path=path)
    listed = set(index.files)
    for path in _listed_files(folder):
        if path.relative_to(folder).as_posix() not in listed:
            raise IntegrityError("file not listed in the results index (added after the run)", path=path)

