"""The worker side of the Ray executor, run in this process (no Ray needed): same batches, checked inputs."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from gate.backends import create_backend
from gate.errors import IntegrityError
from gate.cards.card import card_path
from gate.run.executors import plan_shards, predict_suite
from gate.run.executors.ray_worker import ShardTask, WorkerBackendSpec, loaded_backend, predict_shard, verified_pixels
from gate.storage import sha256_file
from gate.suites.render import encode_png


def _spec(model_dir, cache, **changes) -> WorkerBackendSpec:
    from gate.cards.card import load_card

    card = load_card(model_dir)
    fields = dict(name="torch", model_dir=str(model_dir), threads=1, max_batch=4,
                  card_sha256=sha256_file(card_path(model_dir)), weights_sha256=card.weights.sha256,
                  model_file_sha256=card.weights.sha256, cache_root=str(cache))
    return WorkerBackendSpec(**(fields | changes))


def _tasks(suite, batch_size: int, shard_images: int) -> list[ShardTask]:
    hashes = {e.id: e.pixels_sha256 for e in suite.manifest.images}
    return [ShardTask(suite=suite.name, index=s.index, image_ids=s.image_ids,
                      paths=tuple(str(suite.image_path(i)) for i in s.image_ids),
                      pixels_sha256=tuple(hashes[i] for i in s.image_ids), batch_size=batch_size)
            for s in plan_shards([img.id for img in suite.coco.images], batch_size, shard_images)]


def test_shards_predicted_one_by_one_equal_the_in_process_predictions(gate_env):
    from gate.suites import open_suite

    suite = open_suite("shapes-fog", cache=gate_env.cache, suites=gate_env.suites_dir)
    with create_backend("torch", gate_env.model_dir, threads=1, max_batch=4) as backend:
        reference = predict_suite(backend, suite, batch_size=4, progress=False)
    spec = _spec(gate_env.model_dir, gate_env.cache)
    gathered = [det for task in _tasks(suite, 4, 12) for det in predict_shard(spec, task).detections]
    assert [d.image_id for d in gathered] == [d.image_id for d in reference]
    for ours, theirs in zip(gathered, reference, strict=True):
        assert np.array_equal(ours.boxes, theirs.boxes) and np.array_equal(ours.scores, theirs.scores)
        assert np.array_equal(ours.labels, theirs.labels)
    assert any(len(d) for d in gathered)  # the comparison is not between two empty lists


def test_worker_loads_the_backend_once_per_spec(gate_env):
    spec = _spec(gate_env.model_dir, gate_env.cache)
    assert loaded_backend(spec) is loaded_backend(spec)


def test_worker_refuses_a_model_card_that_differs_from_the_runs(gate_env, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(gate_env.model_dir, model)
    spec = _spec(model, gate_env.cache, card_sha256="0" * 64)
    with pytest.raises(IntegrityError, match=r"card.json: model card on worker host .* has sha256"):
        loaded_backend(spec)


def test_worker_refuses_an_image_whose_pixels_differ_from_the_manifest(gate_env, tmp_path):
    from gate.suites import open_suite

    suite = open_suite("shapes-clean", cache=gate_env.cache, suites=gate_env.suites_dir)
    [task, *_] = _tasks(suite, 4, 4)
    changed = tmp_path / "changed.png"
    pixels = verified_pixels(task.paths[0], task.pixels_sha256[0]).copy()
    pixels[0, 0] ^= 1
    changed.write_bytes(encode_png(pixels))
    with pytest.raises(IntegrityError, match=r"changed.png: image pixels on worker host .* differ from the suite"):
        verified_pixels(str(changed), task.pixels_sha256[0])
    tampered = ShardTask(**(task.__dict__ | {"paths": (str(changed), *task.paths[1:])}))
    with pytest.raises(IntegrityError, match="differ from the suite manifest"):
        predict_shard(_spec(gate_env.model_dir, gate_env.cache), tampered)
