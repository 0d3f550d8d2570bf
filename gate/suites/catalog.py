"""Finding suites on disk and listing them (name, version, counts, whether their data is here)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel

from gate.errors import GateError, InputError
from gate.storage import sha256_file
from gate import locations
from gate.suites.manifest import MANIFEST_FILE, SPEC_FILE, read_manifest
from gate.suites.source import source_available
from gate.suites.spec import VERSION_PATTERN, SuiteSource


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def suite_versions(root: Path, name: str) -> list[str]:
    """Versions of a suite that have a manifest or a spec, oldest first."""
    folder = root / name
    if not folder.is_dir():
        return []
    versions = [p.name for p in folder.iterdir()
                if p.is_dir() and VERSION_PATTERN.match(p.name)
                and ((p / MANIFEST_FILE).exists() or (p / SPEC_FILE).exists())]
    return sorted(versions, key=_version_key)


def suite_names(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and suite_versions(root, p.name))


def find_suite(name_or_path: str | Path, version: str | None = None, suites: str | Path | None = None) -> Path:
    """The folder (…/<name>/<version>) holding a suite's manifest.

    Accepts a suite name (latest version unless `version`), a version folder, a suite folder, or the
    path of a manifest.json / spec.yaml inside a version folder.
    """
    candidate = Path(name_or_path)
    if candidate.is_file() and candidate.name in (MANIFEST_FILE, SPEC_FILE):
        return candidate.parent
    if candidate.is_dir():
        if (candidate / MANIFEST_FILE).exists() or (candidate / SPEC_FILE).exists():
            return candidate
        versions = suite_versions(candidate.parent, candidate.name)
        if versions:
            return candidate / (version or versions[-1])
    roots = locations.suites_roots(suites)
    name = str(name_or_path)
    holding = [r for r in roots if suite_versions(r, name)]
    if not holding:
        known = ", ".join(sorted({n for r in roots for n in suite_names(r)})) or "none"
        raise InputError(f"no suite named '{name}' (known: {known})",
                         path=os.pathsep.join(str(r) for r in roots))
    if len(holding) > 1:
        raise InputError(f"suite '{name}' is in more than one suites root ({', '.join(map(str, holding))}); "
                         "rename one so a result names one suite", path=holding[1] / name)
    root = holding[0]
    versions = suite_versions(root, name)
    if version is None:
        return root / name / versions[-1]
    if version not in versions:
        raise InputError(f"suite '{name}' has no version {version} (has: {', '.join(versions)})", path=root / name)
    return root / name / version


class SuiteListing(BaseModel):
    name: str
    version: str
    description: str = ""
    status: str  # "built", "not built" (spec only) or "broken: <problem>"
    source: str = ""  # dataset path as the spec gives it, or "synth n=<images> seed=<seed> v<version>"
    images: int | None = None
    boxes: int | None = None
    ignore_regions: int | None = None
    transforms: list[str] = []
    source_present: bool | None = None
    rendered_needed: int = 0
    rendered_cached: int = 0
    manifest_sha256: str | None = None


def _describe_source(source: SuiteSource) -> str:
    if source.synth is not None:
        return f"synth n={source.synth.images} seed={source.synth.seed} v{source.synth.version}"
    if source.drives is not None:
        d = source.drives
        return f"drives {d.drives}x{d.frames} frames at {d.fps:g} fps seed={d.seed} v{d.version}"
    return str(source.dataset)


def list_suites(suites: str | Path | None = None, cache: str | Path | None = None) -> list[SuiteListing]:
    """Every suite version under every suites root, built or not, with whether its data is available."""
    cache_root = locations.cache_root(cache)
    listings = []
    for root, name in ((r, n) for r in locations.suites_roots(suites) for n in suite_names(r)):
        for version in suite_versions(root, name):
            folder = root / name / version
            manifest_path = folder / MANIFEST_FILE
            if not manifest_path.exists():
                listings.append(SuiteListing(name=name, version=version, status="not built"))
                continue
            try:
                manifest = read_manifest(manifest_path)
            except GateError as exc:
                listings.append(SuiteListing(name=name, version=version, status=f"broken: {exc.problem}"))
                continue
            source = SuiteSource(dataset=manifest.source.dataset, env=manifest.source.env,
                                 synth=manifest.source.synth)
            render = locations.render_dir(cache_root, name, version)
            needed = [e.rendered_file for e in manifest.images if e.rendered_file]
            listings.append(SuiteListing(
                name=name, version=version, description=manifest.description, status="built",
                source=_describe_source(source), images=manifest.counts.images, boxes=manifest.counts.boxes,
                ignore_regions=manifest.counts.ignore_regions,
                transforms=[f"{t.name}:{t.severity}" for t in manifest.transforms],
                source_present=source_available(source, cache_root, base=folder), rendered_needed=len(needed),
                rendered_cached=sum(1 for f in needed if (render / f).is_file()),
                manifest_sha256=sha256_file(manifest_path),
            ))
    return listings
