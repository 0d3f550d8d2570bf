"""The baseline store.

Layout of one model line (`baselines/<line>/`):

    CURRENT                      name of the version folder in force, e.g. `v0003`
    versions/v0001/results/      an immutable, sealed copy of the promoted results folder
    versions/v0001/signoff.json  who promoted it, when, from which commit, on which verdict

A promotion builds the new version folder under a temporary name, renames it into place, and only
then rewrites CURRENT (itself an atomic rename). A kill at any moment therefore leaves CURRENT
pointing at a complete version: the old one or the new one, never a mix. Version folders are never
modified after they are written, so the previous baselines stay as the line's history.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import subprocess
from pathlib import Path

from pydantic import BaseModel

from gate.errors import InputError, RefusedError
from gate.provenance import git_commit, utc_now
from gate.results import RESULTS_INDEX, load_results_index
from gate.results.artifact import Artifact
from gate.storage import atomic_write_text, sha256_file, staged_dir

BASELINES_ENV = "TSRGATE_BASELINES"
CURRENT_FILE = "CURRENT"
VERSIONS_DIR = "versions"
SIGNOFF_FILE = "signoff.json"
RESULTS_DIR = "results"
_LINE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_VERSION_NAME = re.compile(r"^v(\d{4,})$")


def default_baselines_dir() -> Path:
    """$TSRGATE_BASELINES, else `baselines/` in the current directory (the repository root in CI)."""
    return Path(os.environ.get(BASELINES_ENV, "baselines"))


class VerdictCitation(BaseModel):
    """The verdict that allowed a promotion: its outcome, where it was and its sha256."""

    outcome: str
    path: str
    sha256: str


class SignoffRecord(Artifact):
    """Why a results folder became the baseline: the human and machine facts of the promotion."""

    what = "sign-off record"

    line: str
    version: str
    signed_by: str
    promoted_at: str  # ISO 8601, UTC
    git_commit: str | None = None
    source_results: str
    results_index_sha256: str
    verdict: VerdictCitation | None = None
    note: str = ""


class BaselineVersion(BaseModel):
    line: str
    version: str
    current: bool
    results_path: str
    signoff: SignoffRecord


def _default_signer() -> str:
    try:
        out = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True, timeout=10, check=False)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class BaselineStore:
    """All model lines under one baselines folder."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_baselines_dir()

    # ---- lines and versions -------------------------------------------------------------
    def line_dir(self, line: str) -> Path:
        if not _LINE_NAME.match(line):
            raise InputError(f"invalid baseline line name {line!r} (letters, digits, . _ - only)")
        return self.root / line

    def lines(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / CURRENT_FILE).is_file())

    def current_version(self, line: str) -> str | None:
        pointer = self.line_dir(line) / CURRENT_FILE
        if not pointer.is_file():
            return None
        name = pointer.read_text(encoding="utf-8").strip()
        if not _VERSION_NAME.match(name) or not (self.line_dir(line) / VERSIONS_DIR / name).is_dir():
            raise InputError(f"points at a missing version {name!r}", path=pointer)
        return name

    def _version_names(self, line: str) -> list[str]:
        versions = self.line_dir(line) / VERSIONS_DIR
        if not versions.is_dir():
            return []
        return sorted(p.name for p in versions.iterdir() if p.is_dir() and _VERSION_NAME.match(p.name))

    def results_path(self, line: str, version: str | None = None) -> Path:
        """The sealed results folder of a line's current (or named) baseline; verified on load by callers."""
        if version is None:
            version = self.current_version(line)
            if version is None:
                known = ", ".join(self.lines()) or "none"
                raise InputError(f"no baseline for line {line!r} (known lines: {known})", path=self.root)
        path = self.line_dir(line) / VERSIONS_DIR / version / RESULTS_DIR
        if not path.is_dir():
            raise InputError(f"baseline version {version!r} not found", path=path.parent)
        return path

    def signoff(self, line: str, version: str) -> SignoffRecord:
        return SignoffRecord.load(self.line_dir(line) / VERSIONS_DIR / version / SIGNOFF_FILE)

    def history(self, line: str) -> list[BaselineVersion]:
        """Every promoted version of a line, oldest first (orphans of killed promotions excluded)."""
        current = self.current_version(line)
        entries = []
        for name in self._version_names(line):
            if (self.line_dir(line) / VERSIONS_DIR / name / SIGNOFF_FILE).is_file():
                entries.append(
                    BaselineVersion(
                        line=line,
                        version=name,
                        current=name == current,
                        results_path=str(self.results_path(line, name)),
                        signoff=self.signoff(line, name),
                    )
                )
        return entries

    # ---- promotion ------------------------------------------------------------------------
    def promote(
        self,
        results: str | Path,
        line: str,
        *,
        force: bool = False,
        signed_by: str | None = None,
        verdict_path: str | Path | None = None,
        note: str = "",
    ) -> BaselineVersion:
        """Store a verified results folder as the line's new baseline (refuses to replace without force)."""
        results = Path(results)
        load_results_index(results, verify=True)  # refuse interrupted or tampered results first
        verdict = cite_verdict(verdict_path, results) if verdict_path else None
        line_dir = self.line_dir(line)
        current = self.current_version(line)
        if current is not None and not force:
            raise RefusedError(
                f"line {line!r} already has baseline {current}; pass --force to replace it (it stays in history)",
                path=line_dir,
            )
        existing = [int(_VERSION_NAME.match(n).group(1)) for n in self._version_names(line)]
        version = f"v{(max(existing) + 1 if existing else 1):04d}"
        target = line_dir / VERSIONS_DIR / version
        record = SignoffRecord(
            line=line,
            version=version,
            signed_by=signed_by or _default_signer(),
            promoted_at=utc_now(),
            git_commit=git_commit(Path.cwd()),
            source_results=str(results),
            results_index_sha256="",
            verdict=verdict,
            note=note,
        )
        with staged_dir(target) as staging:
            shutil.copytree(results, staging / RESULTS_DIR)
            # Re-verify the copy: a source changed while copying must not become a baseline.
            load_results_index(staging / RESULTS_DIR, verify=True)
            record.results_index_sha256 = sha256_file(staging / RESULTS_DIR / RESULTS_INDEX)
            record.save(staging / SIGNOFF_FILE)
        atomic_write_text(line_dir / CURRENT_FILE, version + "\n")
        return BaselineVersion(
            line=line, version=version, current=True, results_path=str(target / RESULTS_DIR), signoff=record
        )


def cite_verdict(path: str | Path, results: Path) -> VerdictCitation:
    """The verdict that allows promoting `results`: read with the verdict loader (so a hand-edited outcome is
    refused), about this very results folder (its candidate's index hash), and not failed."""
    from gate.results.verdict import load_verdict

    path = Path(path)
    verdict = load_verdict(path)
    if verdict.candidate.results_index_sha256 != sha256_file(results / RESULTS_INDEX):
        raise RefusedError(f"the verdict is about another results folder ({verdict.candidate.results_path}, index "
                           f"sha256 {verdict.candidate.results_index_sha256[:12]}), not {results}", path=path)
    if verdict.outcome == "fail":
        raise RefusedError("the verdict failed; a failed candidate cannot become the baseline", path=path)
    return VerdictCitation(outcome=verdict.outcome, path=str(path), sha256=sha256_file(path))
