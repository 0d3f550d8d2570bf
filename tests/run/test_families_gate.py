"""YOLO raw, YOLO end-to-end and boxes/scores/labels ONNX models through ingest, run (onnx, int8) and compare.

The models are tiny seeded conv nets exported with exactly those output layouts
(tests/backends/family_models.py), so this stands without Ultralytics. They have no PyTorch form:
their reference form is their fp32 ONNX, so consistency and the INT8 AP delta are measured against it.
"""

from __future__ import annotations

import os

import pytest

from gate.compare import compare_results
from gate.models.ingest import ingest_model
from gate.results.opened import ResultsFolder
from gate.run import GateConfig, load_run, run_model
from gate.locations import CACHE_ENV
from tests.backends.family_models import export_family_onnx, family_card, write_card
from tests.gate_fixtures import write_policy
from tests.models.shapes import make_shapes_dataset

# One resize mode per layout, so letterbox, tiles and stretch each run end to end.
FORMS = {"yolo_raw": "letterbox", "yolo_end_to_end": "tiles", "boxes_scores_labels": "stretch",
         "efficient_nms": "letterbox"}


@pytest.fixture(scope="module")
def family_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("families")
    cache, suites_dir = root / "cache", root / "suites"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(cache))  # exports, suites and predictions stay in this module's cache
        yield _build(root, cache, suites_dir)


def _build(root, cache, suites_dir):
    from gate.suites import build_suite

    data = make_shapes_dataset(root / "data", images=12, seed=3)
    spec = root / "shapes-mini.yaml"
    spec.write_text(f"name: shapes-mini\nversion: 1\ndescription: test suite\nsource:\n  dataset: {data}\n"
                    "seed: 1\nselection: {}\n")
    build_suite(spec, cache=cache, suites=suites_dir)
    config = GateConfig(
        suites=["shapes-mini"], backends=["torch", "onnx", "int8"], latency={"warmup": 1, "runs": 2, "images": 2},
        exports={"int8": {"calibration_data": str(data), "calibration_images": 8}},
    )
    runs = {}
    for layout, resize in FORMS.items():
        onnx_file = export_family_onnx(root / f"{layout}.onnx", layout)
        card = write_card(root / f"{layout}.json", family_card(layout, name=layout, resize=resize))
        model = ingest_model(onnx_file, card, root / "models" / layout)
        assert model.architecture.reference == "onnx"
        runs[layout] = run_model(root / "models" / layout, config, root / "results" / layout, suites_dir=suites_dir,
                                 cache=cache, progress=False)
    return root, runs


@pytest.mark.parametrize("layout", list(FORMS))
def test_family_runs_on_onnx_and_int8_against_its_onnx_reference_form(family_env, layout):
    root, runs = family_env
    record = runs[layout]
    status = {e.backend: e.status for e in record.entries}
    assert status == {"torch": "unavailable", "onnx": "ok", "int8": "ok"}
    torch_entry = record.entry("shapes-mini", "torch")
    assert "no PyTorch form" in torch_entry.reason
    results = ResultsFolder.open(root / "results" / layout)
    consistency = results.consistency("shapes-mini")
    assert consistency.reference == "onnx" and set(consistency.backends) == {"int8"}
    int8 = consistency.backends["int8"]
    assert int8.consistency.reference == "onnx"
    assert int8.ap_delta is not None and int8.consistency.candidate_detections > 0
    assert all(e.images == 12 for e in record.entries if e.status == "ok")
    assert results.parity().reference == "onnx"


def test_int8_export_settings_from_the_gate_config_are_recorded(family_env):
    root, runs = family_env
    record = load_run(root / "results" / "yolo_raw")
    assert record.config.exports["int8"]["calibration_images"] == 8
    [int8] = [b for b in record.backends if b.name == "int8"]
    settings = int8.description.details["export_settings"]
    assert settings["calibration_images"] == 8 and settings["calibration_data"].endswith("data")
    assert int8.description.details["calibration"]["images"] == 8


def test_families_compare_with_each_other_on_their_onnx_form(family_env, tmp_path):
    root, _ = family_env
    policy = write_policy(tmp_path / "policy.json", [
        {"id": "suite-ap", "metric": "ap", "scope": {"backends": ["onnx"]}, "check": {"max_drop": 1.0}},
        {"id": "int8-ap-delta", "metric": "backend_ap_delta", "scope": {"backends": ["int8"]},
         "check": {"max_value": 1.0}},
    ])
    for candidate in ("yolo_end_to_end", "boxes_scores_labels", "efficient_nms"):
        verdict = compare_results(root / "results" / candidate, root / "results" / "yolo_raw", policy_path=policy,
                                  latency=False)
        rows = {(r.metric, r.backend) for r in verdict.comparisons if r.status == "ok"}
        assert ("ap", "onnx") in rows and ("backend_ap_delta", "int8") in rows
        assert not [r for r in verdict.comparisons if r.backend == "onnx" and r.metric.startswith("backend_")]
        assert verdict.outcome == "pass"


def test_measure_uses_the_reference_form_of_an_onnx_model(family_env):
    from gate.cards.card import load_card
    from gate.models.evaluate import evaluate_model_on_suite, record_card_evaluation

    root, runs = family_env
    model = root / "models" / "yolo_raw"
    metrics = evaluate_model_on_suite(model, "shapes-mini", suites_dir=root / "suites", cache=root / "cache")
    # The same onnx detections as `tsrgate run`, so the same AP (pycocotools and gate.eval agree).
    assert metrics.ap == round(runs["yolo_raw"].entry("shapes-mini", "onnx").summary["ap"], 6)  # cards keep 6 decimals
    record_card_evaluation(model, metrics)
    assert load_card(model).evaluation[-1].split.startswith("suite shapes-mini v1")


def test_ray_workers_build_the_int8_export_the_gate_config_names(family_env):
    """A worker gets the config's export settings with its backend spec (without them: the defaults)."""
    from gate.errors import InputError
    from gate.cards.card import card_path, load_card
    from gate.run.executors.ray_executor import _settings_json
    from gate.run.executors.ray_worker import WorkerBackendSpec, loaded_backend
    from gate.storage import sha256_file

    root, runs = family_env
    assert os.environ[CACHE_ENV] == str(root / "cache")  # the worker sets it; the fixture restores it
    model = root / "models" / "boxes_scores_labels"
    card = load_card(model)
    settings = runs["boxes_scores_labels"].config.exports["int8"]
    fields = dict(name="int8", model_dir=str(model), threads=1, max_batch=4,
                  card_sha256=sha256_file(card_path(model)), weights_sha256=card.weights.sha256,
                  model_file_sha256=card.weights.sha256, cache_root=str(root / "cache"))
    backend = loaded_backend(WorkerBackendSpec(**fields, export_settings_json=_settings_json(settings)))
    assert backend.export_record.settings == settings
    with pytest.raises(InputError, match="records no training dataset"):
        loaded_backend(WorkerBackendSpec(**fields))
