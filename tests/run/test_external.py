"""Detections from the onboard stack: `tsrgate run MODEL --external NAME=DIR` records them as backend `device:NAME`.

The README's worked example runs here on the test suite and model; every bad-input case has its own
test that checks the exit code, the one-line message naming the file, and that nothing was written.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gate.run import GateConfig, load_run, run_model
from gate.suites import open_suite
from tests.conftest import REPO_ROOT

SUITE = "shapes-clean"


def _env(gate_env, tmp_path) -> dict[str, str]:
    return dict(os.environ, TSRGATE_SUITES=str(gate_env.suites_dir), TSRGATE_CACHE=str(gate_env.cache),
                TSRGATE_HISTORY=str(tmp_path / "history.sqlite"), TSRGATE_THREADS="1",
                PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))


def readme_example() -> list[str]:
    """The command lines of the README's device example (the code block after `<!-- device-example -->`)."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- device-example -->\n```bash\n(.*?)```", text, re.S)
    assert block, "README has no device-example block"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_readme_example_fails_the_gate_naming_the_device(gate_env, tmp_path):
    """Export, a BGR-fed ONNX in a separate process, import, compare: the planted mismatch fails the gate."""
    env = _env(gate_env, tmp_path)
    substitutions = {"models/synth-baseline": str(gate_env.model_dir), "baselines/synth": str(gate_env.results),
                     " rare": f" {SUITE}", "/rare": f"/{SUITE}"}
    outputs = []
    for line in readme_example():
        for old, new in substitutions.items():
            line = line.replace(old, new)
        words = line.split()
        if words[0] == "tsrgate":
            words = [sys.executable, "-m", "gate", *words[1:]]
        elif words[0] == "python":
            words = [sys.executable, str(REPO_ROOT / words[1]), *words[2:]]
        done = subprocess.run(words, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
        outputs.append(done)
        if words[3:4] != ["compare"]:
            assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
    compare = outputs[-1]
    assert compare.returncode == 1, compare.stdout + compare.stderr
    verdict = json.loads((tmp_path / "reports/device/verdict.json").read_text())
    failed = [o for o in verdict["outcomes"] if o["outcome"] == "fail"]
    assert failed and all(o["backend"] == "device:orin" for o in failed), failed
    assert any(o["rule_id"] == "device-ap-delta" for o in failed)
    assert "device:orin" in compare.stdout + compare.stderr
    # The record: metrics, consistency against the reference form, reported latency, provenance.
    record = load_run(tmp_path / "results/device")
    entry = record.entry(SUITE, "device:orin")
    assert entry.status == "ok" and entry.summary["ap"] < record.entry(SUITE, "torch").summary["ap"]
    backend = next(b for b in record.backends if b.name == "device:orin")
    details = backend.description.details["suites"][SUITE]
    assert details["latency_ms"]["p50_ms"] > 0 and "channel order bgr" in details["runtime"]
    consistency = json.loads((tmp_path / "results/device" / record.consistency_files[SUITE]).read_text())
    assert consistency["backends"]["device:orin"]["ap_delta"]["loss"] > 0.03
    assert "device:orin" in (tmp_path / "reports/device/report.html").read_text()
    # The run report (tsrgate report RESULTS) lists the device backend with its metrics too.
    done = subprocess.run([sys.executable, "-m", "gate", "report", "results/device", "--format", "html", "--out",
                           "run.html"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "device:orin" in (tmp_path / "run.html").read_text()
    summary = (tmp_path / "reports/device/summary.md").read_text()
    assert "device:orin" in summary and "reported by the device pipeline" in summary
    assert verdict["latency"]["backends"]["device:orin"]["candidate_p50_ms"] == details["latency_ms"]["p50_ms"]


def _write_device(folder: Path, suite, detections: list[dict], **description) -> Path:
    sub = folder / suite.name
    sub.mkdir(parents=True, exist_ok=True)
    (sub / "detections.json").write_text(json.dumps(detections))
    body = {"suite": suite.name, "suite_manifest_sha256": suite.manifest_sha256, "runtime": "test runtime",
            "device": "test device", "precision": "fp32", "software": {"runtime": "1.0"},
            "image_ids": [image.id for image in suite.coco.images]}
    body.update(description)
    (sub / "description.json").write_text(json.dumps(body))
    return folder


def _perfect(suite) -> list[dict]:
    """The ground truth as detections, category ids in the model card's class order (+ 1)."""
    names = list(suite.class_names)
    return [{"image_id": a.image_id, "category_id": names.index(suite.coco.category_names()[a.category_id]) + 1,
             "bbox": a.bbox, "score": 0.9} for a in suite.coco.annotations if not a.iscrowd]


@pytest.fixture()
def suite(gate_env):
    from gate.cards.card import load_card

    opened = open_suite(SUITE, cache=gate_env.cache, suites=gate_env.suites_dir)
    opened.class_names = load_card(gate_env.model_dir, verify_weights=False).class_names
    return opened


def test_matching_device_detections_are_recorded_as_a_backend(gate_env, suite, tmp_path):
    """The torch backend's own detections handed back as a device's: zero disagreement, zero AP loss."""
    from gate.run.detections_store import load_detections

    base = load_run(gate_env.results)
    dets = load_detections(gate_env.results / base.entry(SUITE, "torch").predictions_file)
    results = [{"image_id": d.image_id, "category_id": int(label) + 1, "bbox": [x1, y1, x2 - x1, y2 - y1],
                "score": float(score)}
               for d in dets for (x1, y1, x2, y2), score, label in zip(d.boxes.tolist(), d.scores, d.labels, strict=True)]
    latency = {str(image.id): 10.0 + i for i, image in enumerate(suite.coco.images)}
    folder = _write_device(tmp_path / "dev", suite, results, latency_ms=latency)
    record = run_model(gate_env.model_dir, GateConfig(suites=[SUITE], backends=["torch"], latency={"enabled": False}),
                       tmp_path / "out", suites_dir=gate_env.suites_dir, cache=gate_env.cache, progress=False,
                       external=[("bench", folder)])
    entry = record.entry(SUITE, "device:bench")
    assert entry.status == "ok" and entry.summary["ap"] == pytest.approx(record.entry(SUITE, "torch").summary["ap"], abs=1e-6)
    consistency = json.loads((tmp_path / "out" / record.consistency_files[SUITE]).read_text())["backends"]["device:bench"]
    assert consistency["consistency"]["disagreement_rate"] == 0.0
    assert consistency["ap_delta"]["loss"] == pytest.approx(0.0, abs=1e-6)
    described = next(b for b in record.backends if b.name == "device:bench").description
    assert described.device == "test device" and described.libraries == {"runtime": "1.0"}
    assert described.details["suites"][SUITE]["latency_ms"]["min_ms"] == 10.0


def test_a_suite_the_device_folder_lacks_is_unavailable_with_the_reason(gate_env, suite, tmp_path):
    folder = _write_device(tmp_path / "dev", suite, _perfect(suite))
    record = run_model(gate_env.model_dir, GateConfig(suites=[SUITE, "shapes-fog"], backends=["torch"],
                                                      latency={"enabled": False}),
                       tmp_path / "out", suites_dir=gate_env.suites_dir, cache=gate_env.cache, progress=False,
                       external=[("dev", folder)])
    missing = record.entry("shapes-fog", "device:dev")
    assert missing.status == "unavailable" and "no detections for suite shapes-fog" in missing.reason


# --- bad input: one line naming the file, exit 2, nothing written ---------------------------------------------


def _snapshot(*folders: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for folder in folders for p in sorted(folder.rglob("*"))}


def _refused(gate_env, tmp_path, run_cli, folder: Path, named: Path, problem: str) -> None:
    watched = (gate_env.cache, gate_env.model_dir, gate_env.results)
    before = _snapshot(*watched)
    out = tmp_path / "out"
    result = run_cli("run", gate_env.model_dir, "--suites", SUITE, "--backends", "torch", "--no-latency",
                     "--no-history", "--quiet", "--suites-dir", gate_env.suites_dir, "--cache", gate_env.cache,
                     "--external", f"dev={folder}", "--out", out)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert str(named) in lines[0] and problem in lines[0], lines[0]
    assert not out.exists() and not list(tmp_path.glob(".out.*"))
    assert _snapshot(*watched) == before


def test_unknown_image_id_in_results_is_refused(gate_env, suite, tmp_path, run_cli):
    results = _perfect(suite) + [{"image_id": 987654, "category_id": 1, "bbox": [1, 1, 5, 5], "score": 0.5}]
    folder = _write_device(tmp_path / "dev", suite, results)
    _refused(gate_env, tmp_path, run_cli, folder, folder / SUITE / "detections.json", "unknown image id 987654")


def test_unknown_image_id_in_description_is_refused(gate_env, suite, tmp_path, run_cli):
    ids = [image.id for image in suite.coco.images] + [987654]
    folder = _write_device(tmp_path / "dev", suite, _perfect(suite), image_ids=ids)
    _refused(gate_env, tmp_path, run_cli, folder, folder / SUITE / "description.json", "unknown image id")


def test_missing_image_ids_are_refused(gate_env, suite, tmp_path, run_cli):
    ids = [image.id for image in suite.coco.images][:-2]
    folder = _write_device(tmp_path / "dev", suite, _perfect(suite), image_ids=ids)
    _refused(gate_env, tmp_path, run_cli, folder, folder / SUITE / "description.json", "2 image id(s) of suite")


def test_a_different_suite_manifest_is_refused(gate_env, suite, tmp_path, run_cli):
    folder = _write_device(tmp_path / "dev", suite, _perfect(suite), suite_manifest_sha256="0" * 64)
    _refused(gate_env, tmp_path, run_cli, folder, folder / SUITE / "description.json", "different suite manifest")


@pytest.mark.parametrize("score", [float("nan"), float("inf")])
def test_non_finite_scores_are_refused(gate_env, suite, tmp_path, run_cli, score):
    results = _perfect(suite)
    results[1]["score"] = score
    folder = _write_device(tmp_path / "dev", suite, results)
    _refused(gate_env, tmp_path, run_cli, folder, folder / SUITE / "detections.json", "non-finite score")


@pytest.mark.parametrize("category", [0, 99])
def test_category_ids_outside_the_cards_classes_are_refused(gate_env, suite, tmp_path, run_cli, category):
    results = _perfect(suite)
    results[0]["category_id"] = category
    folder = _write_device(tmp_path / "dev", suite, results)
    _refused(gate_env, tmp_path, run_cli, folder, folder / SUITE / "detections.json", "outside the card's classes")


@pytest.mark.parametrize("which", ["detections.json", "description.json"])
def test_an_empty_file_is_refused(gate_env, suite, tmp_path, run_cli, which):
    folder = _write_device(tmp_path / "dev", suite, _perfect(suite))
    (folder / SUITE / which).write_text("")
    _refused(gate_env, tmp_path, run_cli, folder, folder / SUITE / which, "empty file")


def test_a_negative_box_size_is_refused(gate_env, suite, tmp_path, run_cli):
    results = _perfect(suite)
    results[0]["bbox"] = [10, 10, -4, 5]
    folder = _write_device(tmp_path / "dev", suite, results)
    _refused(gate_env, tmp_path, run_cli, folder, folder / SUITE / "detections.json", "negative box size")


def test_a_score_above_one_is_refused(gate_env, suite, tmp_path, run_cli):
    results = _perfect(suite)
    results[0]["score"] = 3.5
    folder = _write_device(tmp_path / "dev", suite, results)
    _refused(gate_env, tmp_path, run_cli, folder, folder / SUITE / "detections.json", "outside [0, 1]")


def test_a_malformed_external_option_is_refused(gate_env, tmp_path, run_cli):
    result = run_cli("run", gate_env.model_dir, "--suites", SUITE, "--backends", "torch", "--no-history",
                     "--suites-dir", gate_env.suites_dir, "--external", "no-equals-sign", "--out", tmp_path / "out")
    assert result.exit_code == 2 and "NAME=DIR" in result.stderr
    assert not (tmp_path / "out").exists()
