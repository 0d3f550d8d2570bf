from __future__ import annotations

import os
import stat

import pytest

from gate.errors import InputError, RefusedError
from gate.storage import atomic_write_json, ensure_dir, remove_stale_staging, sha256_file, staged_dir


@pytest.fixture()
def umask_022():
    """The usual umask, so modes compare with the shipped files' 0644 / 0755."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_atomic_write_leaves_no_temp_files(tmp_path):
    target = tmp_path / "a.json"
    atomic_write_json(target, {"x": 1})
    atomic_write_json(target, {"x": 2})
    assert target.read_text() == '{\n  "x": 2\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_staged_dir_refuses_existing_without_force(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    with pytest.raises(RefusedError, match="pass --force"):
        with staged_dir(out):
            pass
    assert (out / "keep.txt").read_text() == "old"


def test_staged_dir_failure_keeps_old_content(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    with pytest.raises(ValueError):
        with staged_dir(out, force=True) as staging:
            (staging / "new.txt").write_text("new")
            raise ValueError("crash mid-way")
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_staged_dir_replaces_with_force(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    with staged_dir(out, force=True) as staging:
        (staging / "new.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert sha256_file(out / "new.txt") == "11507a0e2f5e69d5dfa40a62a1bd7b6ee57e6bcd85c67c9b8431b36fff21c437"


def test_npz_bytes_are_deterministic_and_load_with_numpy(tmp_path, later_clock):
    import numpy as np

    from gate.storage import atomic_write_npz, npz_bytes

    arrays = {"b": np.arange(5, dtype=np.float32), "a": np.array([[1, 2], [3, 4]], dtype=np.int64)}
    first = npz_bytes(arrays)
    later_clock()  # numpy's savez would stamp a different time now
    assert npz_bytes(arrays) == first
    atomic_write_npz(tmp_path / "x.npz", arrays)
    with np.load(tmp_path / "x.npz") as loaded:
        assert loaded["a"].tolist() == [[1, 2], [3, 4]] and loaded["b"].dtype == np.float32


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_written_files_and_staged_folders_get_the_usual_modes(tmp_path, umask_022):
    # mkstemp / mkdtemp create 0600 / 0700; shared baselines and served reports need 0644 / 0755.
    atomic_write_json(tmp_path / "a.json", {"x": 1})
    assert _mode(tmp_path / "a.json") == 0o644
    with staged_dir(tmp_path / "folder") as stage:
        (stage / "inner.txt").write_text("x")
    assert _mode(tmp_path / "folder") == 0o755 and _mode(tmp_path / "folder" / "inner.txt") == 0o644


def test_modes_follow_a_stricter_umask(tmp_path):
    previous = os.umask(0o077)
    try:
        atomic_write_json(tmp_path / "a.json", {"x": 1})
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "a.json") == 0o600


@pytest.mark.parametrize("write", [
    lambda out: atomic_write_json(out / "verdict.json", {}),
    lambda out: ensure_dir(out / "reports"),
    lambda out: staged_dir(out / "results").__enter__(),
])
def test_a_file_where_a_folder_must_be_is_one_input_error(tmp_path, write):
    blocker = tmp_path / "out"
    blocker.write_text("a file, not a folder")
    with pytest.raises(InputError, match=f"cannot write here: {blocker} is a file, not a folder") as err:
        write(blocker)
    assert "\n" not in str(err.value)
    assert blocker.read_text() == "a file, not a folder"


def test_remove_stale_staging_deletes_only_hidden_leftovers(tmp_path):
    for name in (".v0002.abc.staging", ".v0001.xyz.old", "v0001", ".hidden-notes"):
        (tmp_path / name).mkdir()
    removed = remove_stale_staging(tmp_path)
    assert sorted(p.name for p in removed) == [".v0001.xyz.old", ".v0002.abc.staging"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden-notes", "v0001"]
