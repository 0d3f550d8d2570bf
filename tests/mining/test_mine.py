"""Mining a pool end to end with the tiny trained model: signals, unreadable files, duplicates, labels, backends."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from gate.backends import create_backend, register_backend
from gate.backends.consistency import match_detection_sets
from gate.backends.detections import Detections
from gate.backends.torch_backend import TorchBackend
from gate.data.dataset import DetectionDataset
from gate.errors import InputError
from gate.mining import MiningSettings, load_mining_result, mine_pool
from gate.mining.settings import SCENE_SIGNALS, SIGNALS
from gate.mining.signals import count_disagreement


class DropBestBackend(TorchBackend):
    """The torch backend with each image's best detection removed: a planted backend disagreement."""

    name = "torch-drop-best"

    def infer(self, images, image_ids):
        found = super().infer(images, image_ids)
        return [Detections(d.image_id, d.boxes[1:], d.scores[1:], d.labels[1:]) for d in found]


register_backend(DropBestBackend.name, f"{__name__}:DropBestBackend")


def _condition(tags) -> str:
    if tags["time"] == "night":
        return "night"
    if tags["weather"] == "fog":
        return "fog"
    return "clean" if (tags["time"], tags["weather"]) == ("day", "clear") else "other"


def test_every_image_gets_every_available_signal(world_run):
    result = world_run.result
    assert result.pool.images_mined == result.pool.images_found == 48 and not result.unreadable
    status = {s.name: s for s in result.signals}
    assert [s.name for s in result.signals] == list(SIGNALS)
    assert not status["backend_disagreement"].available and "--backends" in status["backend_disagreement"].note
    assert status["rare_class"].available  # the fixture model's training data is on disk
    assert not status["missed"].available  # the world's sign classes are not the model's shapes
    assert any("do not fit the model's classes" in note for note in world_run.pool.notes)
    used = [s.name for s in result.signals if s.available]
    for img in result.images:
        assert list(img.signals) == used
        assert all(0.0 <= v <= 1.0 for v in img.signals.values())
        assert 0.0 <= img.score <= 1.0
        assert len(img.phash) == 16 and len(img.sha256) == 64
    assert [img.rank for img in result.images] == list(range(1, 49))
    kept = [img for img in result.images if img.duplicate_of is None]
    assert [img.score for img in kept] == sorted((img.score for img in kept), reverse=True)
    assert result.images[: len(kept)] == kept  # collapsed near-duplicates come last


def test_scene_statistics_put_night_and_fog_above_clean_daylight(world_run):
    """What the untrained-for-signs fixture model can prove: the scene signals alone order the world."""
    ranks: dict[str, list[int]] = {}
    for img in world_run.result.images:
        ranks.setdefault(_condition(img.tags), []).append(img.rank)
    hard = ranks["night"] + ranks["fog"]
    assert np.mean(hard) < np.mean(ranks["clean"]) - 15
    assert max(ranks["night"]) <= 14  # every night scene in the top 14 of 48
    reasons = {img.image_id: " | ".join(img.reasons) for img in world_run.result.images}
    night = [img for img in world_run.result.images if img.tags["time"] == "night"]
    assert all("dark scene" in reasons[img.image_id] for img in night)


def test_result_round_trips_through_json(world_run, tmp_path):
    path = world_run.result.save(tmp_path / "mined.json")
    assert load_mining_result(path) == world_run.result
    assert load_mining_result(tmp_path) == world_run.result  # the folder holding mined.json


def test_mining_is_deterministic(world_run, fixture_model, mining_world):
    again = mine_pool(fixture_model, mining_world, settings=MiningSettings(top=12))
    assert again.result.to_text() == world_run.result.to_text()


@pytest.fixture(scope="module")
def folder_pool(tmp_path_factory, mining_world):
    """Twelve world images in nested folders, one undecodable file, one truncated file, one near-copy."""
    root = tmp_path_factory.mktemp("folder_pool")
    dataset = DetectionDataset.load(mining_world)
    for k, image in enumerate(dataset.images[:12]):
        target = root / ("a" if k % 2 else "b") / image.file_name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dataset.image_path(image), target)
    (root / "broken.jpg").write_bytes(b"this is not a jpeg")
    data = dataset.image_path(dataset.images[0]).read_bytes()
    (root / "b" / "truncated.jpg").write_bytes(data[: len(data) // 3])
    night = next(img for img in dataset.images[:12] if img.tags["time"] == "night")
    original = Image.open(dataset.image_path(night)).convert("RGB")
    pixels = np.asarray(original).astype(np.int16)
    # "frames of one scene": brighter, re-encoded at low quality, shifted by 3 px
    Image.fromarray(np.clip(pixels + 3, 0, 255).astype(np.uint8)).save(root / "copy_of_night.png")
    original.save(root / "copy_of_night_q40.jpg", quality=40)
    Image.fromarray(np.roll(pixels, 3, axis=1).astype(np.uint8)).save(root / "copy_of_night_shifted.png")
    return root, night.file_name


def test_unreadable_images_are_listed_and_skipped(fixture_model, folder_pool):
    root, _ = folder_pool
    run = mine_pool(fixture_model, root, settings=MiningSettings(top=5))
    unreadable = {u.file: u.problem for u in run.result.unreadable}
    assert set(unreadable) == {"broken.jpg", "b/truncated.jpg"}
    assert all(p.startswith("unreadable image") for p in unreadable.values())
    assert run.result.pool.images_found == 17 and run.result.pool.images_mined == 15
    assert {img.file for img in run.result.images}.isdisjoint(unreadable)


def test_near_duplicates_are_collapsed_in_the_top(fixture_model, folder_pool):
    root, night_file = folder_pool
    run = mine_pool(fixture_model, root, settings=MiningSettings(top=15))
    frames = [img for img in run.result.images if img.file.endswith(night_file) or img.file.startswith("copy_of")]
    assert len(frames) == 4
    frames.sort(key=lambda i: i.rank)
    kept = frames[0]
    assert kept.duplicate_of is None and sorted(kept.duplicates) == sorted(f.image_id for f in frames[1:])
    assert all(f.duplicate_of == kept.image_id for f in frames[1:])
    top = run.result.top_images()
    assert len(top) == 12  # 15 readable images, four frames of one scene count once
    assert sum(img in frames for img in top) == 1
    assert [f.rank for f in frames[1:]] == [13, 14, 15]  # behind every kept scene


def test_all_unreadable_pool_is_an_error(fixture_model, tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"nope")
    (tmp_path / "b.png").write_bytes(b"")
    with pytest.raises(InputError, match=r"no readable image in the pool \(2 unreadable"):
        mine_pool(fixture_model, tmp_path)


def test_unknown_backend_is_an_error_before_any_work(fixture_model, tmp_path):
    with pytest.raises(InputError, match="unknown backend 'fp64'"):
        mine_pool(fixture_model, tmp_path, backends=["torch", "fp64"])


def _greedy_misses(annotations, detections: Detections, threshold: float) -> int:
    """Labelled boxes with no same-class detection >= threshold at IoU >= 0.5 (greedy by score)."""
    truth = Detections(0, np.array([[a.bbox[0], a.bbox[1], a.bbox[0] + a.bbox[2], a.bbox[1] + a.bbox[3]]
                                    for a in annotations]).reshape(-1, 4),
                       np.ones(len(annotations)), np.array([a.category_id - 1 for a in annotations], np.int64))
    return len(annotations) - len(match_detection_sets(truth, detections.above(threshold), 0.5))


def test_labelled_pool_counts_real_misses(low_threshold_model, shapes_pool):
    """The shapes dataset is labelled in the model's own classes: misses agree with a plain matching."""
    run = mine_pool(low_threshold_model, shapes_pool)
    result = run.result
    status = {s.name: s for s in result.signals}
    assert status["missed"].available and status["confused"].available
    assert result.pool.labelled_images == result.pool.images_mined == 16
    dataset = DetectionDataset.load(shapes_pool)
    backend = create_backend("torch", low_threshold_model).load()
    misses_seen = found_seen = 0
    for loaded in dataset.iter_images():
        img = result.image(loaded.info.id)
        found = backend.infer([loaded.pixels], [loaded.info.id])[0]
        expected = _greedy_misses(loaded.annotations, found, result.model.operating_threshold)
        assert img.measurements["missed"] == expected
        assert img.measurements["labelled_signs"] == len(loaded.annotations)
        assert img.signals["missed"] == pytest.approx(expected / len(loaded.annotations))
        misses_seen += expected
        found_seen += len(loaded.annotations) - expected
    assert misses_seen > 0 and found_seen > 0  # 100 training steps find some shapes, not all
    assert any(r.startswith("missed ") for img in result.images for r in img.reasons)


def test_second_backend_adds_the_disagreement_signal(low_threshold_model, shapes_pool):
    run = mine_pool(low_threshold_model, shapes_pool, backends=["torch", DropBestBackend.name])
    status = {s.name: s for s in run.result.signals}
    assert status["backend_disagreement"].available
    assert status["backend_disagreement"].note == "torch vs torch-drop-best"
    threshold = run.result.model.operating_threshold
    flagged = 0
    for img in run.result.images:
        has_detection = any(d.score >= threshold for d in img.detections)
        assert img.measurements["disagreements_torch-drop-best"] == int(has_detection)
        assert img.signals["backend_disagreement"] == (0.5 if has_detection else 0.0)
        flagged += has_detection
    assert flagged > 0


@pytest.mark.slow
def test_int8_backend_disagreement(low_threshold_model, shapes_pool, tmp_path_factory):
    """The real INT8 Q/DQ model (session export cache shared with tests/backends)."""
    from tests.backends.exported import INT8_TEST_SETTINGS, int8_export

    int8_export(tmp_path_factory)
    options = {"int8": {"export_settings": INT8_TEST_SETTINGS}}
    run = mine_pool(low_threshold_model, shapes_pool, backends=["torch", "int8"], backend_options=options)
    assert {s.name: s.available for s in run.result.signals}["backend_disagreement"]
    torch_backend = create_backend("torch", low_threshold_model).load()
    int8_backend = create_backend("int8", low_threshold_model, export_settings=INT8_TEST_SETTINGS).load()
    threshold = run.result.model.operating_threshold
    for loaded in DetectionDataset.load(shapes_pool).iter_images():
        ids = [loaded.info.id]
        expected = count_disagreement(torch_backend.infer([loaded.pixels], ids)[0],
                                      int8_backend.infer([loaded.pixels], ids)[0], threshold, 0.5)
        assert run.result.image(loaded.info.id).measurements["disagreements_int8"] == expected.total


def test_scene_signals_are_always_available(world_run):
    assert all(s in world_run.result.images[0].signals for s in SCENE_SIGNALS)
