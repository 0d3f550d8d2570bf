"""The generated sign world: class table, determinism, tags/attributes, occlusion audit, CLI."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import numpy as np
import pytest

from gate.data.dataset import DetectionDataset
from gate.data.synth import (
    CONDITIONS,
    DEFAULT_HEIGHT,
    DEFAULT_WIDTH,
    SYNTH_CLASSES,
    WORLD_VERSION,
    box_fraction,
    generate_world,
    paint_occluder,
    plan_scene,
    render_scene,
    split_for_index,
)
from gate.data.synth.classes import classes_for_region
from gate.data.synth.signs import face_painters, sign_face
from gate.data.synth.warp import SignPose, warp_sign
from gate.data.synth.world import encode_jpeg
from gate.errors import InputError, RefusedError
from gate.storage import sha256_bytes, sha256_file

WORLD_IMAGES = 16
SEED = 7


def _file_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    return generate_world(tmp_path_factory.mktemp("synth") / "world", WORLD_IMAGES, SEED, workers=1)


@pytest.fixture(scope="module")
def world_coco(world) -> dict:
    return json.loads((world / "annotations.json").read_text())


# --- class table and faces ------------------------------------------------------------------------


def test_class_table_covers_the_required_families():
    names = [c.name for c in SYNTH_CLASSES]
    assert len(names) >= 20 and len(set(names)) == len(names)
    eu_speeds = {c.text for c in SYNTH_CLASSES if c.family == "speed_limit"}
    assert {"30", "50", "60", "80", "100", "120"} <= eu_speeds
    for required in ("no_entry", "no_overtaking", "give_way", "stop", "priority_road", "ahead_only",
                     "turn_left_ahead", "turn_right_ahead", "keep_right"):
        assert required in names
    assert len({c.text for c in SYNTH_CLASSES if c.face == "eu_warning"}) >= 3
    us = [c for c in SYNTH_CLASSES if c.region == "us"]
    assert {c.face for c in us} == {"us_speed", "us_warning"}
    assert all(c.supercategory in {"prohibitory", "danger", "mandatory", "other"} for c in SYNTH_CLASSES)
    assert all(c.face in face_painters() for c in SYNTH_CLASSES)


def test_region_pools_keep_regional_signs_apart():
    eu = {SYNTH_CLASSES[i].name for i in classes_for_region("eu")}
    us = {SYNTH_CLASSES[i].name for i in classes_for_region("us")}
    assert "stop" in eu and "stop" in us  # shared
    assert not any(n.startswith("us_") for n in eu)
    assert "speed_limit_30" not in us


@pytest.mark.parametrize("class_index", range(len(SYNTH_CLASSES)), ids=[c.name for c in SYNTH_CLASSES])
def test_face_fills_its_canvas(class_index):
    """The face's opaque extent is its canvas, so the alpha-measured box is the sign's outline."""
    face = sign_face(class_index)
    alpha = np.asarray(face.getchannel(3))
    ys, xs = np.nonzero(alpha >= 128)
    assert xs.min() <= 2 and ys.min() <= 2
    assert xs.max() >= face.width - 3 and ys.max() >= face.height - 3
    rgb = np.asarray(face.convert("RGBA"))[..., :3][alpha == 255]
    assert rgb.std() > 20  # something is painted on it, not a flat blob


def test_speed_faces_differ_only_in_their_number():
    faces = {c.text: np.asarray(sign_face(i).convert("RGBA"), np.float32)
             for i, c in enumerate(SYNTH_CLASSES) if c.family == "speed_limit"}
    diff = np.abs(faces["30"] - faces["80"]).mean(axis=2)
    assert diff.mean() > 1.0  # the digits differ ...
    rim = diff[:, :20]
    assert rim.max() < 1.0  # ... and the red rim is the same


def test_warp_box_matches_pose():
    face = sign_face(0)
    warped = warp_sign(face, SignPose(100.25, 60.5, 40.0, 1.0, 0.0, 0.0))
    x0, y0, x1, y1 = warped.box
    assert x1 - x0 == pytest.approx(40.0, abs=0.5) and y1 - y0 == pytest.approx(40.0, abs=0.5)
    assert (x0 + x1) / 2 == pytest.approx(100.25, abs=0.3) and (y0 + y1) / 2 == pytest.approx(60.5, abs=0.3)
    squashed = warp_sign(face, SignPose(100.0, 60.0, 40.0, 0.75, 0.0, 0.0))
    assert squashed.box[2] - squashed.box[0] == pytest.approx(30.0, abs=0.5)


# --- determinism -------------------------------------------------------------------------------------


def test_same_seed_is_byte_identical_whatever_the_worker_count(world, tmp_path):
    again = generate_world(tmp_path / "again", WORLD_IMAGES, SEED, workers=2)
    first, second = _file_hashes(world), _file_hashes(again)
    assert len(first) == WORLD_IMAGES + 1
    assert first == second


def test_different_seeds_differ():
    a, b = render_scene(1, 0), render_scene(2, 0)
    assert not np.array_equal(a.pixels, b.pixels)
    assert [s.bbox for s in a.signs] != [s.bbox for s in b.signs]


def test_images_are_independent_of_each_other(world):
    """Image i depends only on (seed, i): rendering it alone gives the world's file, byte for byte."""
    alone = encode_jpeg(render_scene(SEED, 5).pixels)
    assert sha256_bytes(alone) == sha256_file(world / "images" / "synth_000005.jpg")


# --- dataset contents ------------------------------------------------------------------------------


def test_world_is_a_valid_dataset(world):
    dataset = DetectionDataset.load(world)
    assert len(dataset) == WORLD_IMAGES
    loaded = list(dataset.iter_images())
    assert all(item.pixels.shape == (DEFAULT_HEIGHT, DEFAULT_WIDTH, 3) for item in loaded)
    assert sum(len(item.annotations) for item in loaded) == len(dataset.coco.annotations)
    assert [c.id for c in dataset.coco.categories] == list(range(1, len(SYNTH_CLASSES) + 1))
    assert dataset.coco.categories[0].model_extra == {"family": "speed_limit", "region": "eu"}


def test_info_records_generator_and_parameters(world_coco):
    info = world_coco["info"]
    assert info["generator"] == "tsrgate.data.synth"
    assert info["world_version"] == WORLD_VERSION
    assert (info["seed"], info["images"], info["width"], info["height"]) == (SEED, WORLD_IMAGES, 512, 320)


def test_tags_are_complete_and_valid(world_coco):
    times = {t for t, _ in CONDITIONS}
    weathers = {w for _, w in CONDITIONS}
    for index, image in enumerate(world_coco["images"]):
        tags = image["tags"]
        assert tags["time"] in times and tags["weather"] in weathers
        assert tags["region"] in {"eu", "us"}
        assert tags["split"] == split_for_index(index)


def test_annotations_are_inside_the_image_with_attributes_in_range(world_coco):
    size = {img["id"]: (img["width"], img["height"]) for img in world_coco["images"]}
    per_image = collections.Counter(a["image_id"] for a in world_coco["annotations"])
    assert set(per_image) == set(size) and max(per_image.values()) <= 6
    for ann in world_coco["annotations"]:
        x, y, w, h = ann["bbox"]
        width, height = size[ann["image_id"]]
        assert w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= width and y + h <= height
        assert ann["area"] == pytest.approx(w * h, abs=0.01)
        assert ann["iscrowd"] == 0
        assert 0.0 <= ann["attributes"]["occluded"] <= 1.0
        assert 0.0 <= ann["attributes"]["truncated"] < 1.0


def test_region_tag_decides_the_sign_style(world_coco):
    region = {c["id"]: c["region"] for c in world_coco["categories"]}
    tag = {img["id"]: img["tags"]["region"] for img in world_coco["images"]}
    for ann in world_coco["annotations"]:
        assert region[ann["category_id"]] in (tag[ann["image_id"]], "shared")


def test_a_planned_world_has_every_class_condition_and_size():
    """1,000 planned scenes (no pixels, a few seconds): the statistics the suites rely on."""
    classes: collections.Counter = collections.Counter()
    conditions, sizes = set(), []
    for index in range(1000):
        plan = plan_scene(0, index)
        conditions.add((plan.tags["time"], plan.tags["weather"]))
        classes.update(p.class_index for p in plan.placements)
        sizes.extend(p.pose.longer_side for p in plan.placements)
    assert conditions == set(CONDITIONS)
    assert len(classes) == len(SYNTH_CLASSES) and min(classes.values()) >= 10
    counts = sorted(classes.values())
    assert counts[-1] > 5 * counts[0]  # imbalanced: the rare suite has rare classes to pick
    sizes = np.array(sizes)
    assert (sizes < 16).mean() > 0.15 and (sizes > 96).any() and sizes.min() >= 8


def test_two_hundred_images_cover_twenty_classes():
    seen = {p.class_index for i in range(200) for p in plan_scene(11, i).placements}
    assert len(seen) >= 20


def test_plan_matches_render():
    plan, scene = plan_scene(3, 4), render_scene(3, 4)
    assert plan.tags == scene.tags
    assert [p.class_index for p in plan.placements] == [s.class_index for s in scene.signs]


# --- occlusion audit -----------------------------------------------------------------------------------


def _occluded_day_signs(seed: int, wanted: int, limit: int = 60):
    found = []
    for index in range(limit):
        plan = plan_scene(seed, index)
        if plan.tags["time"] != "day" or plan.tags["weather"] in ("rain", "fog"):
            continue
        scene = render_scene(seed, index)
        big = [s for s in scene.signs if s.occluded > 0.1 and min(s.bbox[2:]) >= 20]
        if big:
            found.append((index, scene, big))
        if sum(len(b) for _, _, b in found) >= wanted:
            break
    return found


def _changed_pixels(scene, bare) -> np.ndarray:
    # Both renders share every random draw (noise included), so any difference is an occluder.
    return np.abs(scene.pixels.astype(np.int16) - bare.pixels.astype(np.int16)).max(axis=2) > 8


def test_recorded_occlusion_matches_the_pixels():
    """Render each scene with and without its occluders: the share of each occluded sign's box whose
    pixels changed must match the recorded fraction (up to anti-aliased and blurred occluder edges,
    and occluder pixels that happen to have the background's colour)."""
    found = _occluded_day_signs(seed=2, wanted=6)
    errors = []
    for index, scene, signs in found:
        changed = _changed_pixels(scene, render_scene(2, index, draw_occluders=False))
        for sign in signs:
            x, y, w, h = sign.bbox
            box = (x, y, x + w, y + h)
            assert sign.occluded == pytest.approx(box_fraction(scene.occluder_alpha, box), abs=1e-9)
            measured = box_fraction(changed.astype(np.float32), box)
            assert measured == pytest.approx(sign.occluded, abs=0.12), (index, sign)
            errors.append(abs(measured - sign.occluded))
    assert len(errors) >= 6, "not enough occluded signs found to audit"
    assert np.mean(errors) < 0.05


def test_unoccluded_render_changes_only_occluded_regions():
    found = _occluded_day_signs(seed=2, wanted=1)
    index, scene, _ = found[0]
    bare = render_scene(2, index, draw_occluders=False)
    changed = _changed_pixels(scene, bare)
    assert changed.any()
    # Apart from blur bleeding a pixel or two, only pixels under an occluder change.
    near_occluder = scene.occluder_alpha > 0.0
    grown = near_occluder.copy()
    for shift in (-2, -1, 1, 2):
        grown |= np.roll(near_occluder, shift, axis=0) | np.roll(near_occluder, shift, axis=1)
    assert not (changed & ~grown).any()
    assert [s.bbox for s in bare.signs] == [s.bbox for s in scene.signs]


@pytest.mark.parametrize("kind", ["foliage", "pole", "vehicle"])
def test_occluder_covers_roughly_the_requested_fraction(kind):
    rng = np.random.default_rng(0)
    box = (200.0, 80.0, 260.0, 140.0)
    patch = paint_occluder(rng, kind, box, 0.4, DEFAULT_WIDTH, DEFAULT_HEIGHT)
    alpha = np.zeros((DEFAULT_HEIGHT, DEFAULT_WIDTH), np.float32)
    h, w = patch.alpha.shape
    alpha[patch.y0:patch.y0 + h, patch.x0:patch.x0 + w] = patch.alpha
    assert box_fraction(alpha, box) == pytest.approx(0.4, abs=0.15)


def test_box_fraction_weights_partial_pixels():
    values = np.zeros((10, 10), np.float32)
    values[:, :5] = 1.0
    assert box_fraction(values, (0.0, 0.0, 10.0, 10.0)) == pytest.approx(0.5)
    assert box_fraction(values, (4.5, 0.0, 5.5, 1.0)) == pytest.approx(0.5)
    assert box_fraction(values, (3.0, 2.0, 3.0, 5.0)) == 0.0


# --- bad input and the CLI -------------------------------------------------------------------------------


@pytest.mark.parametrize(("images", "seed"), [(0, 1), (3, -1)], ids=["no_images", "negative_seed"])
def test_bad_parameters_are_input_errors(tmp_path, images, seed):
    with pytest.raises(InputError):
        generate_world(tmp_path / "w", images, seed)
    assert not (tmp_path / "w").exists()


def test_existing_output_is_refused_and_left_untouched(tmp_path):
    out = tmp_path / "w"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(RefusedError):
        generate_world(out, 2, 0)
    assert (out / "keep.txt").read_text() == "mine"


def test_cli_synth_refuses_existing_output_then_replaces_it_with_force(run_cli, tmp_path):
    out = tmp_path / "w"
    first = run_cli("data", "synth", out, "--images", "3", "--seed", "4")
    assert first.exit_code == 0, first.output
    assert "wrote 3 images" in first.output
    before = _file_hashes(out)

    refused = run_cli("data", "synth", out, "--images", "2", "--seed", "4")
    assert refused.exit_code == 2
    assert refused.stderr.strip() == f"error: {out}: already exists; pass --force to replace it"
    assert "Traceback" not in refused.output
    assert _file_hashes(out) == before

    forced = run_cli("data", "synth", out, "--images", "2", "--seed", "4", "--force")
    assert forced.exit_code == 0, forced.output
    assert len(list((out / "images").iterdir())) == 2
    # The first two images of a world do not depend on how many images it has.
    assert _file_hashes(out)["images/synth_000001.jpg"] == before["images/synth_000001.jpg"]


def test_cli_synth_rejects_zero_images(run_cli, tmp_path):
    result = run_cli("data", "synth", tmp_path / "w", "--images", "0")
    assert result.exit_code == 2
    assert not (tmp_path / "w").exists()
