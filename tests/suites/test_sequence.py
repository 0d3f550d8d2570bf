"""Sequence suites: generated drives build deterministically; a dataset of drives is checked for a clean sequence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from PIL import Image

from gate.suites.build import build_suite
from gate.suites.manifest import load_manifest
from gate.suites.resolved import open_suite

TINY = {
    "name": "drive-tiny", "version": 1, "kind": "sequence", "seed": 7,
    "source": {"drives": {"drives": 2, "frames": 14, "fps": 5, "seed": 3, "version": "2", "width": 256, "height": 160}},
    "transforms": [{"name": "night", "severity": 3}],
}


def _write_spec(folder: Path, spec: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def test_tiny_drive_suite_builds_twice_byte_identical(tmp_path):
    spec = _write_spec(tmp_path / "specs", TINY)
    reports = []
    for side in ("a", "b"):
        reports.append(build_suite(spec, cache=tmp_path / f"cache-{side}", suites=tmp_path / f"suites-{side}"))
    a, b = reports
    assert a.manifest_path.read_bytes() == b.manifest_path.read_bytes()
    names = sorted(p.name for p in a.render_dir.iterdir())
    assert names and names == sorted(p.name for p in b.render_dir.iterdir())
    for name in names:
        assert (a.render_dir / name).read_bytes() == (b.render_dir / name).read_bytes(), name
    drives_a = sorted((tmp_path / "cache-a" / "drives").rglob("*.jpg"))
    assert drives_a and all(p.read_bytes() == (tmp_path / "cache-b" / p.relative_to(tmp_path / "cache-a")).read_bytes()
                            for p in drives_a)
    manifest = load_manifest(a.manifest_path)
    table = manifest.sequence
    assert [len(d.image_ids) for d in table.drives] == [14, 14]
    # Night is drawn once per drive: every frame of a drive carries the same transform seed.
    for drive in table.drives:
        seeds = {e.seed for e in manifest.images if e.id in drive.image_ids}
        assert len(seeds) == 1
    # Ground truth per frame: a track id per sign, its distance shrinking as the car approaches.
    by_id = {e.id: e for e in manifest.images}
    for drive in table.drives:
        for track in drive.tracks:
            distances = [a.attributes["distance_m"] for i in drive.image_ids for a in by_id[i].annotations
                         if a.attributes["track_id"] == track.track_id]
            assert distances == sorted(distances, reverse=True)
            assert 0 < len(distances) <= track.last_frame - track.first_frame + 1  # occlusion may leave gaps
    # Rebuilding into the same suites root is a no-op on identical content.
    again = build_suite(spec, cache=tmp_path / "cache-a", suites=tmp_path / "suites-a")
    assert again.unchanged
    resolved = open_suite("drive-tiny", cache=tmp_path / "cache-a", suites=tmp_path / "suites-a")
    assert len(resolved) == 28


def _drive_dataset(root: Path, frames: list[tuple[str, int, list[int]]], info_drives=None, fps=5) -> Path:
    """A dataset of drive frames: (drive, frame, track ids of its boxes) per image, in image id order."""
    (root / "images").mkdir(parents=True)
    images, annotations = [], []
    for n, (drive, frame, tracks) in enumerate(frames, start=1):
        name = f"f{n:03d}.png"
        Image.new("RGB", (64, 48), (90, 100, 110)).save(root / "images" / name)
        images.append({"id": n, "file_name": name, "width": 64, "height": 48,
                       "tags": {"drive": drive, "frame": frame, "fps": fps, "speed_mps": 10.0}})
        for k, track in enumerate(tracks):
            annotations.append({"id": len(annotations) + 1, "image_id": n, "category_id": 1,
                                "bbox": [4 + 12 * k, 4, 8, 8], "area": 64, "iscrowd": 0,
                                "attributes": {"track_id": track, "distance_m": 20.0 - frame}})
    data = {"info": {"drives": info_drives} if info_drives else {}, "images": images, "annotations": annotations,
            "categories": [{"id": 1, "name": "stop", "supercategory": "other"}]}
    (root / "annotations.json").write_text(json.dumps(data), encoding="utf-8")
    return root


def _dataset_spec(tmp_path: Path, dataset: Path) -> Path:
    return _write_spec(tmp_path / "spec", {"name": "drive-set", "version": 1, "kind": "sequence", "seed": 1,
                                           "source": {"dataset": str(dataset)}})


GOOD = [("a", 0, [1]), ("a", 1, [1]), ("a", 2, []), ("b", 0, [1, 2]), ("b", 1, [2])]


def test_a_dataset_of_drives_builds(tmp_path, run_cli):
    spec = _dataset_spec(tmp_path, _drive_dataset(tmp_path / "data", GOOD))
    result = run_cli("suite", "build", spec, "--cache", tmp_path / "cache", "--suites-dir", tmp_path / "suites")
    assert result.exit_code == 0, result.output
    table = load_manifest(tmp_path / "suites" / "drive-set" / "1" / "manifest.json").sequence
    assert [d.id for d in table.drives] == ["a", "b"]
    assert [(t.track_id, t.first_frame, t.last_frame, t.passed) for t in table.drives[1].tracks] == \
        [(1, 0, 0, True), (2, 0, 1, False)]


@pytest.mark.parametrize(("frames", "info", "fps", "message"), [
    ([("a", 0, [1]), ("a", 2, [1]), ("a", 1, [1])], None, 5, "frames out of order"),
    ([("a", 0, [1, 1])], None, 5, "duplicate track id 1 in frame 0"),
    (GOOD, None, 0, "fps must be above 0"),
    (GOOD, [{"id": "a", "fps": 5, "frames": 3}, {"id": "c", "fps": 5, "frames": 0}], 5, "drive c has no frames"),
])
def test_bad_drive_datasets_are_one_line_errors(tmp_path, run_cli, frames, info, fps, message):
    dataset = _drive_dataset(tmp_path / "data", frames, info, fps)
    spec = _dataset_spec(tmp_path, dataset)
    result = run_cli("suite", "build", spec, "--cache", tmp_path / "cache", "--suites-dir", tmp_path / "suites")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "annotations.json" in lines[0], result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "suites" / "drive-set").exists()


@pytest.mark.parametrize(("change", "message"), [
    ({"fps": 0}, "fps"),
    ({"frames": 0}, "frames"),
])
def test_bad_drive_specs_are_one_line_errors(tmp_path, run_cli, change, message):
    spec = dict(TINY, source={"drives": {**TINY["source"]["drives"], **change}})
    path = _write_spec(tmp_path / "spec", spec)
    result = run_cli("suite", "build", path, "--cache", tmp_path / "cache", "--suites-dir", tmp_path / "suites")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "spec.yaml" in lines[0], result.stderr


def test_drives_source_needs_kind_sequence(tmp_path, run_cli):
    spec = {k: v for k, v in TINY.items() if k != "kind"}
    result = run_cli("suite", "build", _write_spec(tmp_path / "spec", spec), "--suites-dir", tmp_path / "suites")
    assert result.exit_code == 2 and "kind: sequence" in result.stderr
