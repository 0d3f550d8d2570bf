from __future__ import annotations

import pytest

from gate.errors import RefusedError
from gate.storage import atomic_write_json, sha256_file, staged_dir


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
