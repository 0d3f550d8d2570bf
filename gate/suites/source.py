"""Finding a suite's source data: a dataset folder, or the generated world regenerated into the cache.

A dataset path is looked up in this order: an explicit `--data` folder, the environment variable
the spec names in `source.env`, then the spec's path (relative paths resolved against the spec's or
manifest's folder; older specs whose path only works from the repository root still resolve there).
A synthetic source names the world's generation parameters; the world is generated once into
`<cache>/worlds/` and reused, and its version must equal the installed generator's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gate.stages import timed
from gate.data.dataset import DetectionDataset
from gate.errors import InputError, IntegrityError, RefusedError
from gate.storage import sha256_file
from gate import locations
from gate.suites.spec import SuiteSource


@dataclass(frozen=True)
class SourceData:
    """The loaded source dataset and the facts about it a manifest records."""

    dataset: DetectionDataset
    kind: str
    annotations_sha256: str


def dataset_location(source: SuiteSource, data: str | Path | None = None, base: Path | None = None) -> Path:
    """Where a dataset source is on this machine (not checked for existence).

    `base` is the folder of the spec or manifest that names the source: a relative path means a
    folder relative to it. Specs written before that rule meant the repository root, so when the
    path finds no dataset beside `base` but does from the repository root, that one is used.
    """
    if data is not None:
        return Path(data)
    if source.env and os.environ.get(source.env):
        return Path(os.environ[source.env])
    path = Path(source.dataset or "")
    if path.is_absolute():
        return path
    from_repo = (locations.repo_root() / path).resolve()
    if base is None:
        return from_repo
    beside = (Path(base) / path).resolve()
    if not (beside / "annotations.json").is_file() and (from_repo / "annotations.json").is_file():
        return from_repo
    return beside


def recorded_dataset_path(source: SuiteSource, spec_dir: Path, suite_dir: Path) -> str | None:
    """The dataset path a manifest in `suite_dir` records: relative to that folder, never absolute.

    A path that only resolves from the repository root (older specs) is recorded as written.
    """
    if source.dataset is None:
        return None
    path = Path(source.dataset)
    beside = path if path.is_absolute() else (spec_dir / path).resolve()
    if not path.is_absolute() and not (beside / "annotations.json").is_file() and \
            ((locations.repo_root() / path) / "annotations.json").is_file():
        return source.dataset
    return Path(os.path.relpath(beside, Path(suite_dir).resolve())).as_posix()


def world_location(source: SuiteSource, cache: Path) -> Path:
    assert source.synth is not None
    return locations.world_dir(cache, source.synth.images, source.synth.seed, source.synth.version)


Announce = Callable[[str], None]


@timed("world generation")
def ensure_world(source: SuiteSource, cache: Path, data: str | Path | None = None,
                 announce: Announce | None = None) -> Path:
    """The generated world for a synth source, generating it into the cache when it is not there yet."""
    assert source.synth is not None
    if data is not None:
        return Path(data)
    try:
        from gate.data.synth import WORLD_VERSION, generate_world
    except ImportError as exc:  # the generator is part of the package; this guards a broken install
        raise InputError(f"the world generator (gate.data.synth) cannot be imported: {exc}") from None
    if source.synth.version != WORLD_VERSION:
        raise RefusedError(f"the suite needs generated-world version {source.synth.version} but this tsrgate "
                           f"generates version {WORLD_VERSION}; use a matching tsrgate or a new suite version")
    out = world_location(source, cache)
    if not (out / "annotations.json").is_file():
        if announce is not None:
            announce(f"generating the world ({source.synth.images} images, seed {source.synth.seed}, "
                     f"version {source.synth.version}) into {out}; this happens once per cache")
        generate_world(out, source.synth.images, source.synth.seed, force=True)
    return out


def drives_location(source: SuiteSource, cache: Path) -> Path:
    """`<cache>/drives/drive-v<version>-<hash of the drive parameters>`."""
    assert source.drives is not None
    from gate.storage import canonical_json, sha256_bytes

    key = sha256_bytes(canonical_json(source.drives.model_dump(mode="json")))[:16]
    return cache / "drives" / f"drive-v{source.drives.version}-{key}"


@timed("world generation")
def ensure_drives(source: SuiteSource, cache: Path, data: str | Path | None = None,
                  announce: Announce | None = None) -> Path:
    """The generated drives of a drives source, generated into the cache when not there yet."""
    assert source.drives is not None
    if data is not None:
        return Path(data)
    from gate.data.synth.drive import DRIVE_VERSION, DriveSettings, generate_drives

    params = source.drives
    if params.version != DRIVE_VERSION:
        raise RefusedError(f"the suite needs generated-drive version {params.version} but this tsrgate generates "
                           f"version {DRIVE_VERSION}; use a matching tsrgate or a new suite version")
    out = drives_location(source, cache)
    if not (out / "annotations.json").is_file():
        if announce is not None:
            announce(f"generating {params.drives} drives of {params.frames} frames (seed {params.seed}, version "
                     f"{params.version}) into {out}; this happens once per cache")
        settings = DriveSettings(drives=params.drives, frames=params.frames, fps=params.fps, seed=params.seed,
                                 width=params.width, height=params.height, region=params.region,
                                 speed_kmh=tuple(params.speed_kmh))
        generate_drives(out, settings, force=True)
    return out


def source_root(source: SuiteSource, cache: Path, data: str | Path | None = None,
                base: Path | None = None) -> Path:
    """Where the source's dataset folder is (generated sources: their cache folder), without generating."""
    if data is None and source.kind == "synth":
        return world_location(source, cache)
    if data is None and source.kind == "drives":
        return drives_location(source, cache)
    return dataset_location(source, data, base)


def source_available(source: SuiteSource, cache: Path, data: str | Path | None = None,
                     base: Path | None = None) -> bool:
    """Whether the source can be used without generating or fetching anything."""
    return (source_root(source, cache, data, base) / "annotations.json").is_file()


def open_source(source: SuiteSource, cache: Path, data: str | Path | None = None,
                expected_annotations_sha256: str | None = None, announce: Announce | None = None,
                base: Path | None = None) -> SourceData:
    """Load the source dataset (generating a synthetic world if needed) and check its annotations hash.

    `base`: the folder of the spec or manifest naming the source (relative paths start there)."""
    if source.kind == "synth":
        root = ensure_world(source, cache, data, announce)
    elif source.kind == "drives":
        root = ensure_drives(source, cache, data, announce)
    else:
        root = dataset_location(source, data, base)
        if not root.is_dir():
            hint = f" (set {source.env} or pass --data)" if source.env else " (pass --data)"
            raise InputError(f"dataset folder not found{hint}", path=root)
    dataset = DetectionDataset.load(root)
    actual = sha256_file(dataset.annotations_path)
    expected = expected_annotations_sha256 or source.annotations_sha256
    if expected is not None and actual != expected:
        raise IntegrityError(f"annotations sha256 is {actual[:12]}..., the suite expects {expected[:12]}...: "
                             "a different or modified dataset", path=dataset.annotations_path)
    return SourceData(dataset=dataset, kind=source.kind, annotations_sha256=actual)
