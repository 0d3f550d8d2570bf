"""`tsrgate suite export`: the exact images of a suite, their ids and the contract, for an external pipeline."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from gate.suites import open_suite
from gate.suites.manifest import pixels_sha256


def test_export_holds_the_manifest_pixels_ids_and_contract(gate_env, tmp_path, run_cli):
    out = tmp_path / "export"
    result = run_cli("suite", "export", "shapes-clean", "--out", out, "--suites-dir", gate_env.suites_dir,
                     "--cache", gate_env.cache)
    assert result.exit_code == 0, result.output
    suite = open_suite("shapes-clean", cache=gate_env.cache, suites=gate_env.suites_dir)
    index = json.loads((out / "images.json").read_text())
    assert index["suite_manifest_sha256"] == suite.manifest_sha256
    assert [i["id"] for i in index["images"]] == [image.id for image in suite.coco.images]
    manifest = {e.id: e.pixels_sha256 for e in suite.manifest.images}
    for image in index["images"]:
        pixels = np.asarray(Image.open(out / "images" / image["file_name"]).convert("RGB"))
        assert pixels_sha256(pixels) == image["pixels_sha256"] == manifest[image["id"]]
    readme = (out / "README.md").read_text()
    assert suite.manifest_sha256 in readme and "detections.json" in readme and "category_id" in readme


def test_export_refuses_an_existing_folder_without_force(gate_env, tmp_path, run_cli):
    out = tmp_path / "export"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = run_cli("suite", "export", "shapes-clean", "--out", out, "--suites-dir", gate_env.suites_dir,
                     "--cache", gate_env.cache)
    assert result.exit_code == 2
    assert (out / "keep.txt").read_text() == "mine"
