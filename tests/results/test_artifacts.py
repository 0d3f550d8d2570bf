"""Typed stage files: one save and one load each, one-line errors naming the file and the field."""

from __future__ import annotations

import json

import pytest

from gate.errors import InputError
from gate.results.backend import BackendDescription, BackendStatus
from gate.results.config import resolve_gate_config
from gate.results.consistency import ConsistencyFile
from gate.results.latency import LatencyFile, LatencyStats
from gate.results.parity import PreprocessingParity


def test_a_backend_that_never_loaded_has_no_description_key():
    """Old and new run records and verdicts keep the same bytes: the key is absent, not null."""
    assert BackendStatus(name="trt", status="unavailable", reason="no GPU").model_dump(mode="json") == {
        "name": "trt", "status": "unavailable", "reason": "no GPU"}
    ok = BackendStatus(name="torch", status="ok", description=BackendDescription(name="torch", precision="fp32",
                                                                                 device="cpu"))
    assert list(ok.model_dump(mode="json")) == ["name", "status", "reason", "description"]
    assert ok.ok and ok.summary == "torch: ok ()"


def test_stage_files_round_trip(tmp_path):
    stats = LatencyStats.from_seconds([0.010, 0.012, 0.011])
    assert stats.runs == 3 and stats.min_ms == pytest.approx(10.0)
    consistency = ConsistencyFile.model_validate({"reference": "torch", "backends": {"onnx": {
        "consistency": {"backend": "onnx", "iou_threshold": 0.9, "score_threshold": 0.5, "images": 2,
                        "images_with_disagreement": 0, "reference_detections": 3, "candidate_detections": 3,
                        "matched": 3, "only_reference": 0, "only_candidate": 0, "disagreement_rate": 0.0,
                        "score_drift_median": 0.0, "score_drift_max": 0.0, "box_drift_median_px": 0.0,
                        "box_drift_max_px": 0.0},
        "ap_delta": {"loss": 0.001, "ci_low": -0.002, "ci_high": 0.004, "torch_ap": 0.5, "backend_ap": 0.499}}}})
    consistency.save(tmp_path / "consistency.json")
    assert ConsistencyFile.load(tmp_path / "consistency.json") == consistency
    LatencyFile().save(tmp_path / "latency.json")
    assert LatencyFile.load(tmp_path / "latency.json").backends == {}


@pytest.mark.parametrize("content, message", [
    (None, "parity file not found"),
    ("{not json", "parity file is not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    (json.dumps({"reference": "torch", "probe_image_ids": [1], "probe_pixels_sha256": "x", "entries": [],
                 "surprise": 1}), "invalid parity file at surprise"),
    (json.dumps({"reference": "torch", "probe_image_ids": "all", "probe_pixels_sha256": "x", "entries": []}),
     "invalid parity file at probe_image_ids"),
])
def test_a_bad_stage_file_is_one_line_naming_file_and_field(tmp_path, content, message):
    path = tmp_path / "parity.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=message) as caught:
        PreprocessingParity.load(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_config_overrides_apply_over_the_file(tmp_path):
    config_file = tmp_path / "tsrgate.yaml"
    config_file.write_text("suites: [clean, night]\nbackends: [torch, onnx]\nthreads: 2\n")
    config = resolve_gate_config(config_file, backends=["torch"], latency=False)
    assert config.suites == ["clean", "night"] and config.backends == ["torch"] and config.threads == 2
    assert config.latency.enabled is False
    assert resolve_gate_config(None, suites=["clean"]).backends == ["torch", "onnx", "int8"]
    with pytest.raises(InputError, match="no suites given"):
        resolve_gate_config(None, backends=["torch"])
    with pytest.raises(InputError, match="invalid config at threads"):
        resolve_gate_config(None, suites=["clean"], threads=0)
