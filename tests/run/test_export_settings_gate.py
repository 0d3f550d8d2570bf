"""Export settings in the gate config: an INT8 export with fp16 high precision is gated, recorded, and fails.

Model Optimizer's own default (`high_precision_dtype: fp16`) cost the shipped synth-stage3 0.036 AP on
the 40 freshly generated images used here (see tests/backends/test_int8_accuracy.py), beyond the
default policy's `int8-ap-delta` ceiling of 0.03. Set in the gate config, the setting reaches the
export, is recorded in run.json, and the default policy fails the rule naming the int8 backend.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.compare import compare_results
from gate.run import GateConfig, load_run, run_model
from tests.backends.exported import use_private_cache

SHIPPED_MODEL = Path(__file__).resolve().parents[2] / "models" / "synth-stage3"


@pytest.fixture()
def fp16_run(tmp_path, monkeypatch, tmp_path_factory):
    if not (SHIPPED_MODEL / "card.json").is_file():
        pytest.skip(f"the shipped model {SHIPPED_MODEL} is not present")
    from gate.data.synth.world import generate_world
    from gate.suites import build_suite

    cache = use_private_cache(monkeypatch, tmp_path_factory)
    # The worlds of tests/backends/test_int8_accuracy.py: 8 calibration images, 40 evaluation images.
    calibration = generate_world(tmp_path / "calibration", images=8, seed=101, workers=1)
    evaluation = generate_world(tmp_path / "evaluation", images=40, seed=202, workers=1)
    spec = tmp_path / "fresh.yaml"
    spec.write_text(f"name: fresh\nversion: 1\ndescription: unseen generated images\nsource:\n"
                    f"  dataset: {evaluation}\nseed: 1\nselection: {{}}\n")
    build_suite(spec, cache=cache, suites=tmp_path / "suites")
    config = GateConfig(
        suites=["fresh"], backends=["torch", "int8"], latency={"enabled": False},
        exports={"int8": {"high_precision_dtype": "fp16", "calibration_images": 8,
                          "calibration_data": str(calibration)}},
    )
    run_model(SHIPPED_MODEL, config, tmp_path / "results", suites_dir=tmp_path / "suites", cache=cache,
              progress=False)
    return tmp_path / "results"


def test_fp16_high_precision_from_the_gate_config_is_recorded_and_fails_int8_ap_delta(fp16_run):
    record = load_run(fp16_run)
    assert record.config.exports["int8"]["high_precision_dtype"] == "fp16"
    [int8] = [b for b in record.backends if b.name == "int8"]
    details = int8.description.details
    assert details["export_settings"]["high_precision_dtype"] == "fp16"
    verdict = compare_results(fp16_run, fp16_run, latency=False)
    [rule] = [o for o in verdict.outcomes if o.rule_id == "int8-ap-delta"]
    assert rule.outcome == "fail" and "int8" in rule.reason
    [row] = [r for r in verdict.comparisons if r.metric == "backend_ap_delta" and r.backend == "int8"]
    assert row.candidate > 0.03
    assert verdict.outcome == "fail"
