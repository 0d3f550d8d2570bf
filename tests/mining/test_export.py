"""The output folder: mined.json, the contact sheet with reasons, and the COCO "to label" export."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pytest
from markupsafe import escape
from PIL import Image

from gate.data.coco import load_coco
from gate.data.dataset import DetectionDataset
from gate.errors import RefusedError
from gate.mining import MiningSettings, load_mining_result, mine_pool, write_mining_output
from gate.mining.export import export_file_name
from gate.storage import sha256_file

HOSTILE = 'night <img src=x onerror=alert(1)> & "fog".png'


@pytest.fixture(scope="module")
def written(tmp_path_factory, low_threshold_model, mining_world, shapes_pool):
    """Eight shapes images (with detections) and a night scene with a hostile file name, mined; top 6 written."""
    root = tmp_path_factory.mktemp("export")
    pool = root / "pool"
    pool.mkdir()
    world = DetectionDataset.load(mining_world)
    # The darkest night scene: dark and flat, so mining ranks it among the top images.
    nights = [img for img in world.images if img.tags["time"] == "night"]
    night = min(nights, key=lambda img: float(np.asarray(Image.open(world.image_path(img)).convert("L")).mean()))
    Image.open(world.image_path(night)).save(pool / HOSTILE)
    shapes = DetectionDataset.load(shapes_pool)
    for image in shapes.images[:8]:
        (pool / image.file_name).write_bytes(shapes.image_path(image).read_bytes())
    run = mine_pool(low_threshold_model, pool, settings=MiningSettings(top=6))
    assert any(img.file == HOSTILE for img in run.result.top_images())  # dark and flat: a top scene
    output = write_mining_output(run, root / "mined")
    return run, output


def test_output_folder_layout(written):
    _, output = written
    assert sorted(p.name for p in output.folder.iterdir()) == ["mined.json", "sheet.html", "to_label"]
    assert sorted(p.name for p in output.to_label_dir.iterdir()) == ["annotations.json", "images"]
    assert output.exported == 6


def test_top_images_are_copied_byte_for_byte_with_safe_names(written):
    run, output = written
    top = run.result.top_images()
    files = sorted(p.name for p in (output.to_label_dir / "images").iterdir())
    assert files == sorted(img.export_file for img in top)
    assert all(re.fullmatch(r"\d{5}_[A-Za-z0-9._-]+", name) for name in files)
    for img in top:
        assert sha256_file(output.to_label_dir / "images" / img.export_file) == img.sha256
    assert export_file_name(top[0], 1).startswith("00001_")


def test_to_label_annotations_are_the_detections_at_the_operating_threshold(written):
    run, output = written
    coco = load_coco(output.to_label_dir / "annotations.json")
    result = run.result
    assert coco.info["mined_list_sha256"] == sha256_file(output.result_path)
    assert coco.info["model_weights_sha256"] == result.model.weights_sha256
    assert [c.name for c in coco.categories] == result.model.class_names
    threshold = result.model.operating_threshold
    by_image = coco.annotations_by_image()
    total = 0
    for img in result.top_images():
        entry = next(i for i in coco.images if i.id == img.image_id)
        assert entry.file_name == img.export_file and entry.tags["mined_rank"] == img.rank
        expected = sorted((d.label + 1, round(d.score, 6)) for d in img.detections if d.score >= threshold)
        got = sorted((a.category_id, a.model_extra["score"]) for a in by_image[img.image_id])
        assert got == expected
        assert all(a.model_extra["pre_annotation"] is True for a in by_image[img.image_id])
        total += len(expected)
    assert total > 0


def test_mined_json_records_the_export_names(written):
    run, output = written
    loaded = load_mining_result(output.result_path)
    assert loaded == run.result
    assert [img.export_file is not None for img in loaded.images] == [img.duplicate_of is None and k < 6 for k, img
                                                                     in enumerate(loaded.images)]


def test_contact_sheet_shows_escaped_reasons_and_boxes(written):
    run, output = written
    page = output.sheet_path.read_text(encoding="utf-8")
    assert "<img src=x" not in page  # the hostile file name is escaped, never markup
    assert str(escape(HOSTILE)) in page
    top = run.result.top_images()
    hostile = next(img for img in run.result.images if img.file == HOSTILE)
    assert hostile in top and any("dark scene" in r for r in hostile.reasons)
    for img in top:
        for reason in img.reasons:
            assert str(escape(reason)) in page
    tiles = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(tiles) == 6
    drawn = 0
    for tile, img in zip(tiles, top, strict=True):
        pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(tile))).convert("RGB")).astype(int)
        assert pixels.shape[1] == 384
        green = (pixels[..., 1] > 200) & (pixels[..., 0] < 60) & (pixels[..., 2] < 80)  # boxes at the threshold
        assert (green.sum() > 20) == any(d.score >= 0.2 for d in img.detections)
        drawn += green.sum() > 20
    assert drawn > 0


def test_existing_output_is_refused_without_force(written):
    run, output = written
    before = output.result_path.read_bytes()
    with pytest.raises(RefusedError, match="already exists"):
        write_mining_output(run, output.folder)
    assert output.result_path.read_bytes() == before
    write_mining_output(run, output.folder, force=True)
    assert json.loads(output.result_path.read_text())["format"] == "tsrgate-mining/1"
