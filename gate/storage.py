"""Hashing and atomic writes: nothing already stored is ever left half-written."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gate.errors import InputError, RefusedError

_CHUNK = 1 << 20
STAGING_SUFFIX = ".staging"  # hidden folders being built: `.NAME.XXXX.staging`
TRASH_SUFFIX = ".old"  # hidden folders holding a replaced copy until it is deleted


def _umask() -> int:
    """The process umask: from /proc on Linux (no side effect), else by setting and restoring it."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode `open()` would give a new file: 0644 under the usual umask 022."""
    return 0o666 & ~_umask()


def dir_mode() -> int:
    """The mode `mkdir` would give a new folder: 0755 under the usual umask 022."""
    return 0o777 & ~_umask()


def _write_error(path: Path, exc: OSError, folder: bool = False) -> InputError:
    """One line for a write the file system refused (a parent that is a file, no permission, full disk)."""
    blocker = next((p for p in [path, *path.parents] if p.exists() and not p.is_dir()), None)
    if blocker is not None and (blocker != path or folder):
        return InputError(f"cannot write here: {blocker} is a file, not a folder", path=path)
    return InputError(f"cannot write ({exc.strerror or type(exc).__name__})", path=path)


def ensure_dir(path: str | Path) -> Path:
    """`mkdir -p` with the usual modes; a path blocked by a file or without permission is one InputError."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(path, exc, folder=True) from None
    return path


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """Streamed sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def canonical_json(obj: Any) -> bytes:
    """The byte form used for hashing JSON-able objects: sorted keys, no whitespace variance."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def dump_json(obj: Any) -> str:
    """The human-readable form every tsrgate JSON file is written in (stable across runs)."""
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over the target.

    Written with the mode a plain `open()` would give (0644 under umask 022), not mkstemp's 0600,
    so stored baselines and reports can be shared and served. A path the file system refuses (a
    parent that is a file, no permission, a full disk) is one `InputError` naming it.
    """
    path = Path(path)
    ensure_dir(path.parent)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), file_mode())
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError):
            raise _write_error(path, exc) from None
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, dump_json(obj))


def check_output_dir(out: str | Path, force: bool) -> Path:
    """Refuse to reuse an existing, non-empty output folder unless `force` is given."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise RefusedError("already exists; pass --force to replace it", path=out)
    return out


def swap_in(staging: Path, final: Path) -> None:
    """Replace `final` by the folder `staging` (each rename is atomic; an old copy is moved aside first)."""
    if final.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=TRASH_SUFFIX, dir=final.parent))
        os.replace(final, trash / "old")
        os.replace(staging, final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(staging, final)


@contextlib.contextmanager
def staged_dir(out: str | Path, force: bool = False) -> Iterator[Path]:
    """Build a folder under a temporary name beside `out` and move it into place only on success.

    A crash leaves either the previous folder or the new one at `out`, never a mix; the
    temporary folder is removed on failure (a killed process leaves it behind: see
    `remove_stale_staging`). The folder gets the mode a plain `mkdir` would give (0755 under
    umask 022), not mkdtemp's 0700.
    """
    out = check_output_dir(out, force)
    ensure_dir(out.parent)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=STAGING_SUFFIX, dir=out.parent))
        staging.chmod(dir_mode())
    except OSError as exc:
        raise _write_error(out, exc) from None
    try:
        yield staging
        swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def remove_stale_staging(parent: str | Path) -> list[Path]:
    """Delete the hidden staging and moved-aside folders that killed writers left in `parent`.

    Call it only while holding the lock that every writer into `parent` holds (`exclusive_lock`):
    then no such folder can belong to a writer still at work."""
    parent = Path(parent)
    if not parent.is_dir():
        return []
    stale = sorted(p for p in parent.iterdir() if p.name.startswith(".") and p.is_dir()
                   and p.name.endswith((STAGING_SUFFIX, TRASH_SUFFIX)))
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


def normalise_modes(folder: str | Path) -> None:
    """Give every folder and file under `folder` the modes new ones get (0755 / 0644 under umask 022).

    For trees copied from elsewhere (copytree keeps the source's modes, 0700 or 0600 included)."""
    folder = Path(folder)
    folder.chmod(dir_mode())
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(root, name), dir_mode())
        for name in files:
            os.chmod(os.path.join(root, name), file_mode())


@contextlib.contextmanager
def exclusive_lock(lock_file: str | Path) -> Iterator[None]:
    """Hold an exclusive advisory lock (flock) on `lock_file` for the block; the kernel drops it if killed."""
    import fcntl

    lock_file = Path(lock_file)
    ensure_dir(lock_file.parent)
    try:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, file_mode())
    except OSError as exc:
        raise _write_error(lock_file, exc) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def npz_bytes(arrays: dict[str, Any], compress: bool = True) -> bytes:
    """An .npz archive whose bytes depend only on the arrays (numpy's own savez stamps the clock)."""
    import io
    import zipfile

    import numpy as np

    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asanyarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def atomic_write_npz(path: str | Path, arrays: dict[str, Any], compress: bool = True) -> None:
    atomic_write_bytes(path, npz_bytes(arrays, compress))
