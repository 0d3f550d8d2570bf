"""MLflow: a comparison logged as a run and a promotion registered with an alias, read back through MlflowClient."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gate.compare import load_verdict
from gate.results.opened import load_run
from tests.absent_backend import ABSENT
from tests.integrations.conftest import require_package


@pytest.fixture()
def client_for():
    require_package("mlflow", "mlflow")
    from mlflow.tracking import MlflowClient

    return lambda uri: MlflowClient(tracking_uri=uri, registry_uri=uri)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_compare_logs_params_metrics_tags_and_reports(report_gate, run_cli, client_for, tmp_path):
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    out = tmp_path / "reports"
    result = run_cli("compare", report_gate.candidate_results, report_gate.baseline_results, "--out", out,
                     "--no-latency", "--no-history", "--mlflow", uri)
    assert result.exit_code == 1, result.output  # the fixture's candidate fails
    assert f"logged to {uri}" in result.output
    verdict = load_verdict(out / "verdict.json")

    client = client_for(uri)
    experiment = client.get_experiment_by_name("tsrgate")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.info.run_id in result.output
    # Artifacts live beside the database (a local store, no server).
    assert experiment.artifact_location == (tmp_path / "store" / "artifacts").resolve().as_uri()

    params = run.data.params
    assert params["candidate.weights_sha256"] == verdict.candidate.model.weights_sha256
    assert params["baseline.weights_sha256"] == verdict.baseline.model.weights_sha256
    assert params["candidate.card_sha256"] == verdict.candidate.model.card_sha256
    assert params["policy.sha256"] == verdict.policy.sha256 and params["policy.name"] == verdict.policy.name
    assert params["candidate.backends"] == f"torch:ok,onnx:ok,{ABSENT}:unavailable"
    for suite in verdict.candidate.suites:
        assert params[f"suite.{suite.name}.version"] == suite.version
        assert params[f"suite.{suite.name}.manifest_sha256"] == suite.manifest_sha256

    metrics = run.data.metrics
    for row in verdict.comparisons:
        if row.metric in ("ap", "ap50") and row.class_name is None and row.size is None and row.status == "ok":
            assert metrics[f"{row.metric}/{row.suite}/{row.backend}"] == pytest.approx(row.candidate, abs=1e-12)
            assert metrics[f"{row.metric}_delta/{row.suite}/{row.backend}"] == pytest.approx(row.delta, abs=1e-12)
    candidate, baseline = load_run(report_gate.candidate_results), load_run(report_gate.baseline_results)
    logged = 0
    for entry in candidate.entries:
        if entry.status == "ok":
            base = baseline.entry(entry.suite, entry.backend).summary
            for name in ("ap", "ap50"):
                assert metrics[f"{name}/{entry.suite}/{entry.backend}"] == pytest.approx(entry.summary[name], abs=1e-12)
                assert metrics[f"{name}_delta/{entry.suite}/{entry.backend}"] == pytest.approx(
                    entry.summary[name] - base[name], abs=1e-12)
                logged += 1
    assert logged == 2 * 2 * 2  # AP and AP50 x 2 suites x torch and onnx
    assert not any(key.endswith(f"/{ABSENT}") for key in metrics)  # not run: no number
    for outcome, count in verdict.counts.items():
        assert metrics[f"rules/{outcome}"] == count

    tags = run.data.tags
    assert tags["tsrgate.verdict"] == "fail" and tags["mlflow.runName"] == "shapes-candidate vs shapes-baseline"
    assert "tsrgate.line" not in tags  # compared with a results folder, not a line

    names = sorted(a.path for a in client.list_artifacts(run.info.run_id))
    assert names == ["junit.xml", "report.html", "summary.md", "verdict.json"]
    local = Path(client.download_artifacts(run.info.run_id, "verdict.json", str(tmp_path / "dl")))
    assert local.read_bytes() == (out / "verdict.json").read_bytes()


def test_latency_ratios_are_logged(report_gate, client_for, tmp_path):
    from gate.compare import compare_results
    from gate.integrations.mlflow_tracking import log_comparison

    verdict = compare_results(report_gate.candidate_results, report_gate.baseline_results, latency=False)
    rows = [r for r in verdict.comparisons if r.metric == "latency_p50_ratio" and r.status == "ok"]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    logged = log_comparison(verdict, uri)  # no report folder: the verdict alone is the artifact
    run = client_for(uri).get_run(logged.run_id)
    assert rows, "the fixture's runs measured latency"
    for row in rows:
        assert run.data.metrics[f"latency_p50_ratio/{row.backend}"] == pytest.approx(row.candidate)
    assert [a.path for a in client_for(uri).list_artifacts(logged.run_id)] == ["verdict.json"]


def test_promote_registers_a_version_and_moves_the_alias(report_gate, run_cli, client_for, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    baselines = tmp_path / "baselines"
    first = run_cli("baseline", "promote", report_gate.baseline_results, "--line", "shapes",
                    "--baselines-dir", baselines, "--signed-by", "Owner", "--mlflow", uri)
    assert first.exit_code == 0, first.output
    assert "registered model 'shapes' version 1, alias 'baseline-shapes'" in first.output
    client = client_for(uri)
    version = client.get_model_version_by_alias("shapes", "baseline-shapes")
    assert str(version.version) == "1"
    assert version.tags["tsrgate.weights_sha256"] == load_verdict(report_gate.verdict_path).baseline.model.weights_sha256
    assert version.tags["tsrgate.baseline_version"] == "v0001"
    # The registered version's files are the model's card and weights, byte for byte.
    promote_run = client.get_run(version.run_id)
    assert promote_run.data.tags["tsrgate.line"] == "shapes" and promote_run.data.tags["tsrgate.signed_by"] == "Owner"
    files = Path(client.download_artifacts(version.run_id, "model", str(tmp_path / "dl")))
    model_files = sorted(p.name for p in files.iterdir())
    assert len(model_files) == 2
    for name in model_files:
        assert _sha256(files / name) == _sha256(report_gate.baseline_model / name)
    assert version.source.endswith("/model")

    second = run_cli("baseline", "promote", report_gate.candidate_results, "--line", "shapes", "--force",
                     "--baselines-dir", baselines, "--mlflow", uri)
    assert second.exit_code == 0, second.output
    moved = client.get_model_version_by_alias("shapes", "baseline-shapes")
    assert str(moved.version) == "2" and moved.tags["tsrgate.model"] == "shapes-candidate"
    assert sorted(str(v.version) for v in client.search_model_versions("name='shapes'")) == ["1", "2"]


def test_default_store_is_a_local_folder(report_gate, run_cli, client_for, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = run_cli("baseline", "promote", report_gate.baseline_results, "--line", "shapes",
                     "--baselines-dir", tmp_path / "baselines", "--mlflow")
    assert result.exit_code == 0, result.output
    db = tmp_path / "mlruns" / "mlflow.db"
    assert db.is_file() and (tmp_path / "mlruns" / "artifacts").is_dir()
    client = client_for(f"sqlite:///{db}")
    assert client.get_model_version_by_alias("shapes", "baseline-shapes").version in (1, "1")


def test_promote_refuses_before_promoting_when_the_model_is_gone(report_gate, run_cli, client_for, tmp_path):
    import shutil

    from gate.results import RESULTS_INDEX, seal_results_folder
    from gate.results.opened import load_run
    from gate.results.record import RUN_FILE
    from gate.storage import atomic_write_json

    copy = tmp_path / "results"
    shutil.copytree(report_gate.baseline_results, copy)
    record = load_run(copy)
    moved = record.model_copy(update={"model": record.model.model_copy(update={"path": str(tmp_path / "gone")})})
    atomic_write_json(copy / RUN_FILE, moved.model_dump(mode="json"))
    (copy / RESULTS_INDEX).unlink()
    seal_results_folder(copy, kind="run", header={"model": record.model.name})
    result = run_cli("baseline", "promote", copy, "--line", "shapes", "--baselines-dir", tmp_path / "baselines",
                     "--mlflow", f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert result.exit_code == 2
    assert "model folder is not here" in result.output
    assert not (tmp_path / "baselines" / "shapes").exists()  # nothing promoted
