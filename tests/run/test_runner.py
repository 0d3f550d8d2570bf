"""`tsrgate run`: sealed results, provenance, caching, unavailable backends, bad input."""

from __future__ import annotations

import pytest

from gate.errors import InputError, IntegrityError, RefusedError
from gate.results import load_results_index
from gate.run import GateConfig, load_run, run_model
from gate.run.detections_store import load_detections
from tests.absent_backend import ABSENT, ABSENT_REASON


def test_results_folder_is_sealed_with_provenance(gate_env):
    record = load_run(gate_env.results)
    assert {s.name for s in record.suites} == {"shapes-clean", "shapes-fog"}
    assert all(len(s.manifest_sha256) == 64 for s in record.suites)
    assert record.model.weights_sha256 and record.libraries["torch"] and record.machine["cpu_model"]
    ok = [e for e in record.entries if e.backend == "torch"]
    assert [e.status for e in ok] == ["ok", "ok"]
    assert all(0 <= e.summary["ap50"] <= 1 for e in ok)
    index = load_results_index(gate_env.results)
    assert "suites/shapes-fog/torch/evaluation.records.npz" in index.files


def test_an_unavailable_backend_is_recorded_with_reason_never_silently_skipped(gate_env):
    record = load_run(gate_env.results)
    absent = [e for e in record.entries if e.backend == ABSENT]
    assert len(absent) == 2 and all(e.status == "unavailable" and e.reason == ABSENT_REASON for e in absent)
    assert record.backend(ABSENT).status == "unavailable" and record.backend(ABSENT).description is None


def test_rerun_reuses_cached_predictions_with_identical_numbers(gate_env, tmp_path):
    config = GateConfig(suites=["shapes-clean"], backends=["torch"], latency={"enabled": False})
    record = run_model(gate_env.model_dir, config, tmp_path / "again", suites_dir=gate_env.suites_dir,
                       cache=gate_env.cache, progress=False)
    [entry] = record.entries
    assert entry.predictions_from_cache
    first = load_run(gate_env.results).entry("shapes-clean", "torch")
    assert entry.summary == first.summary
    again = load_detections(tmp_path / "again" / entry.predictions_file)
    before = load_detections(gate_env.results / first.predictions_file)
    assert all(a.equals(b) for a, b in zip(again, before, strict=True))


def test_existing_output_is_refused_without_force(gate_env):
    config = GateConfig(suites=["shapes-clean"], backends=["torch"])
    with pytest.raises(RefusedError, match="pass --force"):
        run_model(gate_env.model_dir, config, gate_env.results, suites_dir=gate_env.suites_dir, progress=False)


def test_unknown_backend_and_suite_are_input_errors(gate_env, tmp_path):
    with pytest.raises(InputError, match="unknown backend 'tensorflow'"):
        run_model(gate_env.model_dir, GateConfig(suites=["shapes-clean"], backends=["tensorflow"]), tmp_path / "x",
                  suites_dir=gate_env.suites_dir, progress=False)
    with pytest.raises(InputError, match="no suite named 'nope'"):
        run_model(gate_env.model_dir, GateConfig(suites=["nope"], backends=["torch"]), tmp_path / "y",
                  suites_dir=gate_env.suites_dir, progress=False)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_tampered_results_are_refused(gate_env, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(gate_env.results, copy)
    path = copy / "suites" / "shapes-clean" / "torch" / "evaluation.json"
    path.write_text(path.read_text().replace('"num_images"', '"num_images" ', 1))
    with pytest.raises(IntegrityError, match="evaluation.json: sha256 differs"):
        load_run(copy)


def test_cli_run_prints_table_and_records_history(gate_env, tmp_path, run_cli):
    out = tmp_path / "cli-run"
    result = run_cli("run", gate_env.model_dir, "--suites", "shapes-clean", "--backends", f"torch,{ABSENT}",
                     "--suites-dir", gate_env.suites_dir, "--out", out, "--no-latency", "--quiet",
                     "--history-db", tmp_path / "h.sqlite")
    assert result.exit_code == 0, result.output
    assert f"{ABSENT}: unavailable ({ABSENT_REASON})" in result.output and "shapes-clean" in result.output
    history = run_cli("history", "--db", tmp_path / "h.sqlite")
    assert "shapes-clean=" in history.output
