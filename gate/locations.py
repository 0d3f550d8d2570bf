"""Where suites live: specs and manifests under a suites root (git), rendered images in a cache (not git).

- suites roots: `--suites-dir`, else $TSRGATE_SUITES (either may be a path list, `suites:/team/packs`),
  else `suites/` in the repository; suites are looked up in every root, built into the first;
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


def suites_roots(override: str | Path | None = None) -> list[Path]:
    """Every suites root, in lookup order: `override` or $TSRGATE_SUITES as a path list
    (`suites:/team/packs`, separated like PATH), else `suites/` in the repository."""
    text = str(override) if override is not None else os.environ.get(SUITES_ENV, "")
    roots = [Path(part) for part in text.split(os.pathsep) if part]
    return roots or [repo_root() / "suites"]


def suites_root(override: str | Path | None = None) -> Path:
    """The suites root new suites are written to: the first of `suites_roots`."""
    return suites_roots(override)[0]


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
