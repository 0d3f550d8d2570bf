"""`tsrgate run --executor ray` on a local Ray instance: byte-identical results, worker deaths, failing shards.

The suite is the shipped synthetic suite `rare` (45 images, served straight from the generated world).
Its world is taken from a cache that already holds it (as after `tsrgate demo`), else generated once for
this module (about a minute on two cores). The model is the shared tiny detector of
tests/models/trained.py with its three shape classes renamed to three classes `rare` scores, and its
operating threshold lowered: it is no sign detector, the renaming only makes the evaluation see its
(many, mostly wrong) detections, so identical metrics are a comparison of real numbers, not of zeros.
Each run gets its own cache folder so no run reuses another's cached predictions.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[dev,ray]' to run the Ray "
                                        "executor tests (the in-process executor needs no Ray)")

from gate.eval.results import EvaluationResult  # noqa: E402
from gate.run import GateConfig, load_run, run_model  # noqa: E402
from gate.run.executors import ShardFailedError  # noqa: E402
from gate.run.executors.ray_executor import RayExecutor  # noqa: E402
from gate.run.executors.ray_worker import WorkerCrash  # noqa: E402
from gate import locations  # noqa: E402
from gate.suites.manifest import MANIFEST_FILE, load_manifest  # noqa: E402
from tests.models.trained import trained_model  # noqa: E402

SUITE = "rare"
SHARD_IMAGES = 8  # 45 images in batches of 4: shards of 8, 8, 8, 8, 8 and 5 images
RENAMED_CLASSES = ["pedestrians", "turn_left_ahead", "us_signal_ahead"]  # scored (not ignored) in `rare`
COMPARED_FILES = ("detections.npz", "evaluation.json", "evaluation.records.npz")


def _config() -> GateConfig:
    return GateConfig(suites=[SUITE], backends=["torch"], threads=1, batch_size=4,
                      latency={"warmup": 1, "runs": 2, "images": 2})


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """The generated world `rare` is drawn from (verified by open_suite against the manifest's hashes)."""
    import platformdirs

    synth = load_manifest(locations.suites_root() / SUITE / "2" / MANIFEST_FILE).source.synth
    for root in (locations.cache_root(), Path(platformdirs.user_cache_dir("tsrgate"))):
        found = locations.world_dir(root, synth["images"], synth["seed"], synth["version"])
        if (found / "annotations.json").is_file():
            return found
    from gate.data.synth import generate_world

    return generate_world(tmp_path_factory.mktemp("world") / "world", synth["images"], synth["seed"])


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    from gate.cards.card import load_card, save_card

    out = tmp_path_factory.mktemp("ray-model") / "model"
    shutil.copytree(trained_model(tmp_path_factory), out)
    card = load_card(out)
    postprocessing = card.postprocessing.model_copy(update={"operating_threshold": 0.1})
    save_card(card.model_copy(update={"class_names": RENAMED_CLASSES, "postprocessing": postprocessing}), out)
    load_card(out)  # still a valid model folder
    return out


@pytest.fixture(scope="module")
def in_process(tmp_path_factory, model, world) -> Path:
    root = tmp_path_factory.mktemp("in-process")
    run_model(model, _config(), root / "results", cache=root / "cache", data=world, progress=False)
    return root / "results"


def _assert_same_results(ours: Path, reference: Path) -> None:
    base = Path("suites") / SUITE / "torch"
    for name in COMPARED_FILES:
        assert (ours / base / name).read_bytes() == (reference / base / name).read_bytes(), name
    mine, theirs = load_run(ours).entry(SUITE, "torch"), load_run(reference).entry(SUITE, "torch")
    assert not mine.predictions_from_cache and mine.images == theirs.images == 45
    assert mine.summary == theirs.summary


def test_cli_ray_run_on_two_local_workers_gives_byte_identical_metrics(tmp_path, run_cli, model, world, in_process):
    from gate.report.run_report import render_run_html

    out = tmp_path / "ray"
    result = run_cli("run", model, "--suites", SUITE, "--backends", "torch", "--threads", "1", "--data", world,
                     "--cache", tmp_path / "cache", "--out", out, "--executor", "ray", "--workers", "2",
                     "--shard-images", SHARD_IMAGES, "--quiet", "--no-history")
    assert result.exit_code == 0, result.output
    assert not ray.is_initialized()  # the local instance was shut down (before latency was measured)
    _assert_same_results(out, in_process)
    evaluation = EvaluationResult.load(out / "suites" / SUITE / "torch" / "evaluation.json")
    assert evaluation.num_predictions > 1000 and evaluation.threshold.fp > 0  # real numbers were compared
    record = load_run(out)
    assert record.executor.kind == "ray" and record.executor.address == "local"
    assert (record.executor.workers, record.executor.shards, record.executor.shard_images) == (2, 6, 8)
    assert record.executor.ray_version == ray.__version__ and record.executor.hosts
    assert record.latency_file == "latency.json" and "never on a Ray worker" in record.executor.latency_measured_in
    assert load_run(in_process).executor.kind == "inprocess"
    assert "predictions: ray" in result.output
    assert "Predictions: ray " in render_run_html(out)


def test_worker_killed_mid_shard_is_retried_and_results_are_identical(tmp_path, model, world, in_process):
    marker = tmp_path / "attempts.txt"
    executor = RayExecutor(workers=2, shard_images=SHARD_IMAGES, crash=WorkerCrash(shard=2, marker=str(marker)))
    record = run_model(model, _config(), tmp_path / "ray", cache=tmp_path / "cache", data=world, progress=False,
                       executor=executor)
    attempts = marker.read_text().splitlines()
    assert len(attempts) == 2  # the first attempt's process died (os._exit) after one batch; Ray ran it again
    assert attempts[0].split(" pid ")[1] != attempts[1].split(" pid ")[1]  # in a new worker process
    assert record.executor.shards == 6
    _assert_same_results(tmp_path / "ray", in_process)


def test_shard_that_keeps_failing_fails_the_run_naming_the_shard(tmp_path, model, world):
    marker = tmp_path / "attempts.txt"
    crash = WorkerCrash(shard=1, marker=str(marker), every_attempt=True)
    executor = RayExecutor(workers=2, shard_images=SHARD_IMAGES, max_retries=1, crash=crash)
    with pytest.raises(ShardFailedError, match=r"^rare \[torch\]: shard 1 \(image ids \d+\.\.\d+, 8 images\) "
                                               r"failed after 2 attempt\(s\)"):
        run_model(model, _config(), tmp_path / "ray", cache=tmp_path / "cache", data=world, progress=False,
                  executor=executor)
    assert len(marker.read_text().splitlines()) == 2
    assert not (tmp_path / "ray").exists()  # no results folder with a smaller suite
    assert not ray.is_initialized()
