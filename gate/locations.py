"""Where suites live: specs and manifests under a suites root (git), rendered images in a cache (not git).

- suites root: `--suites-dir`, else $TSRGATE_SUITES, else `suites/` in the repository;
- cache root: `--cache`, else $TSRGATE_CACHE, else the user cache dir (e.g. ~/.cache/tsrgate);
  rendered images go to `<cache>/suites/<name>/<version>/`, generated worlds to `<cache>/worlds/`.
"""

from __future__ import annotations

import os
from pathlib import Path

SUITES_ENV = "TSRGATE_SUITES"
CACHE_ENV = "TSRGATE_CACHE"


def repo_root() -> Path:
    """The checkout the package runs from (relative dataset paths in specs are resolved against it)."""
    return Path(__file__).resolve().parents[1]


def suites_root(override: str | Path | None = None) -> Path:
    if override is not None:
        return Path(override)
    if os.environ.get(SUITES_ENV):
        return Path(os.environ[SUITES_ENV])
    return repo_root() / "suites"


def cache_root(override: str | Path | None = None) -> Path:
    if override is not None:
        return Path(override)
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    import platformdirs

    return Path(platformdirs.user_cache_dir("tsrgate"))


def suite_dir(root: Path, name: str, version: str) -> Path:
    return root / name / version


def render_dir(cache: Path, name: str, version: str) -> Path:
    return cache / "suites" / name / version


def world_dir(cache: Path, images: int, seed: int, version: str) -> Path:
    return cache / "worlds" / f"synth-v{version}-n{images}-s{seed}"
