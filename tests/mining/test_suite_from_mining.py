"""Mining, labelling and building a versioned `hard-cases` suite, end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gate.data.coco import load_coco
from gate.mining import build_labelled_dataset, load_mining_result
from gate.storage import sha256_file
from gate.suites.resolved import open_suite


def _spec(path: Path, version: int, data: Path) -> Path:
    path.write_text(yaml.safe_dump({
        "name": "hard-cases", "version": version, "seed": 0,
        "description": f"mined round {version}: the images the model found hardest, labelled",
        "source": {"dataset": str(data)},
        "selection": {"negatives": "keep"},
    }))
    return path


def _world_boxes(world: Path) -> dict[str, list[tuple]]:
    coco = load_coco(world / "annotations.json")
    names = {img.id: img.file_name for img in coco.images}
    out: dict[str, list[tuple]] = {name: [] for name in names.values()}
    for ann in coco.annotations:
        out[names[ann.image_id]].append((ann.category_id, tuple(ann.bbox)))
    return out


def test_mine_label_and_build_hard_cases_v1_and_v2(run_cli, fixture_model, mining_world, tmp_path):
    suites, cache = tmp_path / "suites", tmp_path / "cache"
    # round 1: mine, take the generated labels, build hard-cases v1
    mined = tmp_path / "mined-1"
    result = run_cli("mine", fixture_model, mining_world, "--out", mined, "--top", "10")
    assert result.exit_code == 0, result.output
    assert "rank  score" in result.output and "wrote " in result.output
    data = tmp_path / "hard-cases-data-1"
    result = run_cli("mined-dataset", mined, "--labels", mining_world, "--out", data)
    assert result.exit_code == 0, result.output
    result = run_cli("suite", "build", _spec(tmp_path / "v1.yaml", 1, data), "--suites-dir", suites, "--cache", cache)
    assert result.exit_code == 0, result.output

    mining = load_mining_result(mined)
    top = mining.top_images()
    suite = open_suite("hard-cases", "1", cache=cache, suites=suites)
    assert sorted(img.id for img in suite.coco.images) == sorted(img.image_id for img in top)
    world = _world_boxes(mining_world)
    by_image = suite.coco.annotations_by_image()
    for img in top:
        got = sorted((a.category_id, tuple(a.bbox)) for a in by_image.get(img.image_id, []))
        assert got == sorted(world[img.file])  # the generated labels, unchanged
        assert sha256_file(suite.image_path(img.image_id)) == img.sha256  # the mined bytes
    assert suite.manifest.source.annotations_sha256 == sha256_file(data / "annotations.json")
    info = load_coco(data / "annotations.json").info
    assert info["mined_list_sha256"] == sha256_file(mined / "mined.json")
    assert info["labels_sha256"] == sha256_file(mining_world / "annotations.json")
    ranks = {img.id: img.tags["mined_rank"] for img in suite.coco.images}
    assert ranks == {img.image_id: img.rank for img in top}  # suites can select on the mined rank

    # round 2: a bigger mining round becomes version 2; version 1 stays as it was
    v1_manifest = (suites / "hard-cases" / "1" / "manifest.json").read_bytes()
    mined2 = tmp_path / "mined-2"
    assert run_cli("mine", fixture_model, mining_world, "--out", mined2, "--top", "16").exit_code == 0
    data2 = tmp_path / "hard-cases-data-2"
    labels = mining_world / "annotations.json"
    assert run_cli("mined-dataset", mined2, "--labels", labels, "--out", data2).exit_code == 0
    result = run_cli("suite", "build", _spec(tmp_path / "v2.yaml", 2, data2), "--suites-dir", suites, "--cache", cache)
    assert result.exit_code == 0, result.output
    assert len(open_suite("hard-cases", cache=cache, suites=suites).coco.images) == 16  # latest = v2
    assert (suites / "hard-cases" / "1" / "manifest.json").read_bytes() == v1_manifest
    listing = run_cli("suite", "list", "--suites-dir", suites, "--cache", cache)
    assert "hard-cases" in listing.output


def test_labels_edited_in_the_to_label_export_are_matched_by_exported_name(world_run, mining_world, tmp_path):
    """The labeller corrects to_label/annotations.json (file names as exported); half the images get labels."""
    from gate.mining import write_mining_output

    output = write_mining_output(world_run, tmp_path / "mined")
    exported = load_coco(output.to_label_dir / "annotations.json")
    world = load_coco(mining_world / "annotations.json")
    world_id = {img.file_name: img.id for img in world.images}
    keep = exported.images[::2]
    annotations = []
    for img in keep:  # "labelling": the true boxes replace the model's pre-annotations
        source = world_id[img.model_extra["pool_file"]]
        for ann in world.annotations:
            if ann.image_id == source:
                annotations.append(ann.model_copy(update={"id": len(annotations) + 1, "image_id": img.id}))
    labelled = exported.model_copy(update={"images": keep, "annotations": annotations,
                                           "categories": world.categories})
    labels = tmp_path / "labelled.json"
    labels.write_text(json.dumps(labelled.to_json_dict()))
    report = build_labelled_dataset(output.folder, labels, tmp_path / "data")
    assert report.images == len(keep) and report.boxes == len(annotations)
    assert len(report.unlabelled) == len(exported.images) - len(keep)
    info = load_coco(tmp_path / "data" / "annotations.json").info
    assert info["unlabelled_mined_images"] == report.unlabelled  # listed, never included as negatives


def test_mined_dataset_bad_inputs(run_cli, world_run, tmp_path):
    from gate.mining import write_mining_output

    output = write_mining_output(world_run, tmp_path / "mined")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"images": [{"id": 1, "file_name": "unrelated.jpg", "width": 4, "height": 4}],
                                 "annotations": [], "categories": [{"id": 1, "name": "stop"}]}))
    result = run_cli("mined-dataset", output.folder, "--labels", other, "--out", tmp_path / "d")
    assert result.exit_code == 2
    assert "name none of the mined images" in result.stderr and "Traceback" not in result.output
    result = run_cli("mined-dataset", tmp_path / "nowhere", "--labels", other, "--out", tmp_path / "d")
    assert result.exit_code == 2 and "mining result not found" in result.stderr
    # a tampered export is refused and nothing is written
    victim = next((output.to_label_dir / "images").iterdir())
    victim.write_bytes(victim.read_bytes() + b"\x00")
    with pytest.raises(Exception, match="differs from the one that was mined"):
        build_labelled_dataset(output.folder, output.to_label_dir, tmp_path / "d2")
    assert not (tmp_path / "d2").exists()
