"""MLflow: a comparison as a tracked run, a promoted baseline as a registered model version with an alias.

`log_comparison` logs one run per `tsrgate compare`: params (model, weights and card hashes of both
sides, suite versions and manifest hashes, policy and its hash, backends), metrics (AP and AP50 per
suite x backend with their deltas, rule counts, latency ratios), tags (verdict, line) and the
reports as artifacts. `register_baseline` logs the promoted model's card and weights in a run,
registers them as a new version of the registered model named after the line and points the
alias `baseline-<line>` at it.

The default tracking store needs no server: a SQLite database and an artifact folder under
`mlruns/` in the current folder (or $MLFLOW_TRACKING_URI when set). MLflow is the `mlflow` extra.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pydantic import BaseModel

from gate.errors import InputError
from gate.integrations.extras import require_extra
from gate.results.verdict import GateVerdict

EXPERIMENT = "tsrgate"
DEFAULT_STORE_DIR = "mlruns"
DB_FILE = "mlflow.db"
ARTIFACTS_DIR = "artifacts"
REPORT_FILES = ("verdict.json", "report.html", "summary.md", "junit.xml")
TAG_VERDICT = "tsrgate.verdict"
TAG_LINE = "tsrgate.line"


class MlflowRunRef(BaseModel):
    """Where a logged run lives."""

    tracking_uri: str
    experiment_id: str
    run_id: str
    artifact_uri: str


class RegisteredBaseline(BaseModel):
    """The registry entry a promotion created."""

    run: MlflowRunRef
    model_name: str
    version: str
    alias: str


def default_tracking_uri(store_dir: str | Path | None = None) -> str:
    """$MLFLOW_TRACKING_URI, else a local SQLite store in `mlruns/` (no server needed)."""
    if store_dir is None and os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    folder = Path(store_dir or DEFAULT_STORE_DIR).resolve()
    return f"sqlite:///{folder / DB_FILE}"


def _sqlite_folder(tracking_uri: str) -> Path | None:
    """The folder of a local SQLite store (its artifacts go beside it), or None for other stores."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    return Path(tracking_uri.removeprefix("sqlite:///")).parent


def _client(tracking_uri: str):
    require_extra("mlflow", "MLflow logging")
    from mlflow.tracking import MlflowClient

    folder = _sqlite_folder(tracking_uri)
    if folder is not None:
        if folder.exists() and not folder.is_dir():
            raise InputError("the MLflow store folder is a file", path=folder)
        folder.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def _experiment_id(client, tracking_uri: str, name: str) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    folder = _sqlite_folder(tracking_uri)
    location = (folder / ARTIFACTS_DIR).resolve().as_uri() if folder is not None else None
    return client.create_experiment(name, artifact_location=location)


def _metric_key(*parts: str) -> str:
    return "/".join(parts)


def baseline_line(verdict: GateVerdict) -> str | None:
    """The line whose stored baseline the verdict compared against (`<root>/<line>/versions/vNNNN/results`)."""
    parts = Path(verdict.baseline.results_path).parts
    if len(parts) >= 4 and parts[-3] == "versions" and parts[-1] == "results":
        return parts[-4]
    return None


def comparison_params(verdict: GateVerdict) -> dict[str, str]:
    params = {"policy.name": verdict.policy.name, "policy.sha256": verdict.policy.sha256,
              "tsrgate_version": verdict.tsrgate_version}
    for side_name in ("candidate", "baseline"):
        side = getattr(verdict, side_name)
        params[f"{side_name}.model"] = f"{side.model.name} {side.model.version}"
        params[f"{side_name}.weights_sha256"] = side.model.weights_sha256
        params[f"{side_name}.card_sha256"] = side.model.card_sha256
        params[f"{side_name}.results_index_sha256"] = side.results_index_sha256
        params[f"{side_name}.backends"] = ",".join(f"{b.name}:{b.status}" for b in side.backends)
    for suite in verdict.candidate.suites:
        if suite.name in verdict.suites:
            params[f"suite.{suite.name}.version"] = suite.version
            params[f"suite.{suite.name}.manifest_sha256"] = suite.manifest_sha256
    return params


def _suite_backend_summaries(side) -> dict[tuple[str, str], dict[str, float | None]]:
    """(suite, backend) -> the run's summary metrics, from the side's results folder (empty if it is gone)."""
    from gate.errors import GateError
    from gate.results.opened import ResultsFolder

    try:
        record = ResultsFolder.open(side.results_path).record
    except GateError:
        return {}
    return {(e.suite, e.backend): e.summary for e in record.entries if e.status == "ok"}


def comparison_metrics(verdict: GateVerdict) -> dict[str, float]:
    """AP and AP50 per suite x backend (candidate, and its delta to the baseline), rule counts, latency ratios.

    Per-backend AP lives in the results folders (a verdict compares accuracy on torch); where the
    candidate's folder is gone, the verdict's own torch rows are used.
    """
    metrics: dict[str, float] = {}
    for row in verdict.comparisons:
        if row.status != "ok" or row.candidate is None:
            continue
        if row.metric in ("ap", "ap50") and row.class_name is None and row.size is None and row.suite and row.backend:
            metrics[_metric_key(row.metric, row.suite, row.backend)] = row.candidate
            if row.delta is not None:
                metrics[_metric_key(f"{row.metric}_delta", row.suite, row.backend)] = row.delta
    candidate, baseline = _suite_backend_summaries(verdict.candidate), _suite_backend_summaries(verdict.baseline)
    for (suite, backend), summary in candidate.items():
        if suite not in verdict.suites:
            continue
        for name in ("ap", "ap50"):
            value, base = summary.get(name), baseline.get((suite, backend), {}).get(name)
            if value is None:
                continue
            metrics[_metric_key(name, suite, backend)] = value
            if base is not None:
                metrics[_metric_key(f"{name}_delta", suite, backend)] = value - base
    for backend, ratios in verdict.latency.backends.items():
        metrics[_metric_key("latency_p50_ratio", backend)] = ratios.latency_p50_ratio
        metrics[_metric_key("latency_p99_ratio", backend)] = ratios.latency_p99_ratio
    for outcome, count in verdict.counts.items():
        metrics[_metric_key("rules", outcome)] = float(count)
    return metrics


def log_comparison(verdict: GateVerdict, tracking_uri: str, *, report_dir: str | Path | None = None,
                   experiment: str = EXPERIMENT) -> MlflowRunRef:
    """Log one verdict as an MLflow run; the report files in `report_dir` (verdict.json written if absent)."""
    client = _client(tracking_uri)
    experiment_id = _experiment_id(client, tracking_uri, experiment)
    line = baseline_line(verdict)
    tags = {TAG_VERDICT: verdict.outcome, "tsrgate.candidate": verdict.candidate.model.name,
            "tsrgate.baseline": verdict.baseline.model.name}
    if line is not None:
        tags[TAG_LINE] = line
    run = client.create_run(experiment_id, tags=tags,
                            run_name=f"{verdict.candidate.model.name} vs {verdict.baseline.model.name}")
    run_id = run.info.run_id
    try:
        from mlflow.entities import Metric, Param

        params = [Param(k, v) for k, v in sorted(comparison_params(verdict).items())]
        metrics = [Metric(k, v, 0, 0) for k, v in sorted(comparison_metrics(verdict).items())]
        # log_batch takes at most 100 params / 1000 metrics per call
        for start in range(0, len(params), 100):
            client.log_batch(run_id, params=params[start:start + 100])
        for start in range(0, len(metrics), 1000):
            client.log_batch(run_id, metrics=metrics[start:start + 1000])
        with tempfile.TemporaryDirectory(prefix="tsrgate-mlflow-") as tmp:
            folder = Path(report_dir) if report_dir is not None else Path(tmp)
            if not (folder / "verdict.json").is_file():
                verdict.save(Path(tmp) / "verdict.json")
                client.log_artifact(run_id, str(Path(tmp) / "verdict.json"))
            for name in REPORT_FILES:
                if (folder / name).is_file():
                    client.log_artifact(run_id, str(folder / name))
        client.set_terminated(run_id, "FINISHED")
    except Exception:
        client.set_terminated(run_id, "FAILED")
        raise
    return MlflowRunRef(tracking_uri=tracking_uri, experiment_id=experiment_id, run_id=run_id,
                        artifact_uri=run.info.artifact_uri)


def baseline_alias(line: str) -> str:
    return f"baseline-{line}"


def model_files(model_dir: str | Path, weights_sha256: str) -> list[Path]:
    """The card and weights of a model folder, refused unless its weights are the promoted ones."""
    from gate.cards.card import card_path, load_card

    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise InputError("the promoted results' model folder is not here; MLflow registration needs its card "
                         "and weights", path=model_dir)
    card = load_card(model_dir, verify_weights=True)
    if card.weights.sha256 != weights_sha256:
        raise InputError(f"the model folder's weights (sha256 {card.weights.sha256[:12]}) are not the ones the "
                         f"results were computed with ({weights_sha256[:12]})", path=model_dir)
    return [card_path(model_dir), model_dir / card.weights.file]


def check_registrable(results: str | Path) -> None:
    """Refuse early (before a promotion) what `register_baseline` would refuse: no extra, no model files."""
    from gate.results.opened import load_run

    require_extra("mlflow", "MLflow registration")
    record = load_run(results)
    model_files(record.model.path, record.model.weights_sha256)


def register_baseline(results: str | Path, line: str, baseline_version: str, tracking_uri: str, *,
                      signed_by: str = "", experiment: str = EXPERIMENT) -> RegisteredBaseline:
    """Register the promoted results' model as a new version of registered model `line`, alias `baseline-<line>`."""
    from gate.results.opened import load_run

    record = load_run(results)
    files = model_files(record.model.path, record.model.weights_sha256)
    client = _client(tracking_uri)
    experiment_id = _experiment_id(client, tracking_uri, experiment)
    tags = {TAG_LINE: line, "tsrgate.baseline_version": baseline_version, "tsrgate.signed_by": signed_by}
    run = client.create_run(experiment_id, tags=tags, run_name=f"promote {line} {baseline_version}")
    run_id = run.info.run_id
    from mlflow.entities import Param

    params = {"model": f"{record.model.name} {record.model.version}", "weights_sha256": record.model.weights_sha256,
              "card_sha256": record.model.card_sha256, "line": line, "baseline_version": baseline_version}
    params.update({f"suite.{s.name}.manifest_sha256": s.manifest_sha256 for s in record.suites})
    client.log_batch(run_id, params=[Param(k, v) for k, v in sorted(params.items())])
    for path in files:
        client.log_artifact(run_id, str(path), artifact_path="model")
    client.set_terminated(run_id, "FINISHED")

    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(line)
    except MlflowException:
        client.create_registered_model(line, description=f"tsrgate model line {line}: promoted baselines")
    version = client.create_model_version(
        line, source=f"{run.info.artifact_uri}/model", run_id=run_id,
        tags={"tsrgate.model": record.model.name, "tsrgate.model_version": record.model.version,
              "tsrgate.weights_sha256": record.model.weights_sha256, "tsrgate.baseline_version": baseline_version},
        description=f"{record.model.name} {record.model.version}, baseline {baseline_version} of line {line}",
    )
    alias = baseline_alias(line)
    client.set_registered_model_alias(line, alias, version.version)
    return RegisteredBaseline(
        run=MlflowRunRef(tracking_uri=tracking_uri, experiment_id=experiment_id, run_id=run_id,
                         artifact_uri=run.info.artifact_uri),
        model_name=line, version=str(version.version), alias=alias,
    )
