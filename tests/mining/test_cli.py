"""`tsrgate mine` and `tsrgate mined-dataset` on the command line: output, exit codes, one-line errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
from PIL import Image


def _one_line_error(result, text: str) -> None:
    assert result.exit_code == 2, result.output
    assert text in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_help_lists_the_commands(run_cli):
    output = run_cli("--help").output
    assert "mine " in output and "mined-dataset" in output
    assert "--backends" in run_cli("mine", "--help").output


def test_mine_lists_unreadable_images_and_writes_the_folder(run_cli, fixture_model, shapes_pool, tmp_path):
    pool = tmp_path / "pool"
    pool.mkdir()
    for source in sorted((shapes_pool / "images").iterdir())[:3]:
        shutil.copyfile(source, pool / source.name)
    (pool / "corrupt.jpg").write_bytes(b"\xff\xd8\xff garbage")
    result = run_cli("mine", fixture_model, pool, "--out", tmp_path / "out", "--top", "2")
    assert result.exit_code == 0, result.output
    assert "mined 3 of 4 images" in result.output
    assert "skipped 1 unreadable image(s):" in result.output and "corrupt.jpg: unreadable image" in result.output
    assert "signal backend_disagreement not used" in result.output
    mined = json.loads((tmp_path / "out" / "mined.json").read_text())
    assert mined["unreadable"][0]["file"] == "corrupt.jpg"
    assert len(list((tmp_path / "out" / "to_label" / "images").iterdir())) == 2


def test_existing_output_is_refused_before_any_inference(run_cli, fixture_model, shapes_pool, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("earlier results")
    result = run_cli("mine", fixture_model, shapes_pool, "--out", out)
    _one_line_error(result, "already exists; pass --force")
    assert (out / "keep.txt").read_text() == "earlier results"


def test_empty_pool(run_cli, fixture_model, tmp_path):
    (tmp_path / "pool").mkdir()
    _one_line_error(run_cli("mine", fixture_model, tmp_path / "pool", "--out", tmp_path / "out"), "the pool is empty")
    assert not (tmp_path / "out").exists()


def test_missing_model(run_cli, shapes_pool, tmp_path):
    _one_line_error(run_cli("mine", tmp_path / "no-model", shapes_pool, "--out", tmp_path / "out"),
                    "model folder not found")


def test_unknown_backend(run_cli, fixture_model, shapes_pool, tmp_path):
    _one_line_error(run_cli("mine", fixture_model, shapes_pool, "--out", tmp_path / "out", "--backends", "torch,tpu"),
                    "unknown backend 'tpu'")


def test_labels_in_other_classes_are_an_error_when_given(run_cli, fixture_model, mining_world, tmp_path):
    pool = tmp_path / "pool"
    pool.mkdir()
    first = json.loads((mining_world / "annotations.json").read_text())["images"][0]["file_name"]
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(pool / "x.png")
    shutil.copyfile(mining_world / "images" / first, pool / first)
    result = run_cli("mine", fixture_model, pool, "--out", tmp_path / "out", "--labels", mining_world)
    _one_line_error(result, "neither categories nor supercategories")
