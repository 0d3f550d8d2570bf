"""The gate workflow, written once: run (or reuse) -> compare -> save the verdict -> reports -> history -> CI
(-> an MLflow run, when asked).

`tsrgate compare`, `tsrgate demo` and `tsrgate signoff` differ only in what they feed in (which
models, suites, policy and baseline) and what they write around the verdict; the steps and their
order are these functions, so a results folder is reused under one rule and a verdict is recorded
the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gate.errors import GateError
from gate.results.config import GateConfig
from gate.results.record import RunRecord
from gate.results.verdict import GateVerdict


def current_manifests(suites: list[str], suites_dir: str | Path | None = None) -> list[str]:
    """sha256 of each suite's manifest as it is on disk now (in the given order)."""
    from gate.storage import sha256_file
    from gate.suites.catalog import find_suite
    from gate.suites.manifest import MANIFEST_FILE

    return [sha256_file(find_suite(name, None, suites_dir) / MANIFEST_FILE) for name in suites]


def reusable_run(results: Path, model_dir: Path, config: GateConfig,
                 suites_dir: str | Path | None = None) -> RunRecord | None:
    """The record of an earlier run at `results` when nothing that determines it changed, else None.

    The one reuse rule: seal intact, the same weights (checked against the card) and card, the same
    suite manifests, the same config and the same tsrgate version. A damaged folder is simply recomputed.
    """
    from gate import __version__
    from gate.cards.card import card_path, load_card
    from gate.results.opened import load_run
    from gate.storage import sha256_file

    if not results.is_dir():
        return None
    try:
        record = load_run(results)
        weights_sha256 = load_card(model_dir, verify_weights=True).weights.sha256
        same = (
            record.tsrgate_version == __version__
            and record.model.weights_sha256 == weights_sha256
            and record.model.card_sha256 == sha256_file(card_path(model_dir))
            and record.config == config
            and [s.manifest_sha256 for s in record.suites] == current_manifests(config.suites, suites_dir)
        )
    except (GateError, OSError):
        return None
    return record if same else None


def record_run_once(record: RunRecord, results: Path, history_db: str | Path | None, line: str | None) -> None:
    """Record a run in the history unless it already holds it (same model, weights and results folder)."""
    from gate.history import HistoryStore
    from gate.run.history_hook import record_run

    known = HistoryStore(history_db).entries(kind="run", line=line, model=record.model.name)
    if not any(e.weights_sha256 == record.model.weights_sha256 and e.results_path == str(results) for e in known):
        record_run(record, results, history_db, line=line)


def run_or_reuse(
    model_dir: Path,
    config: GateConfig,
    results: Path,
    *,
    line: str | None,
    history_db: str | Path | None = None,
    record_history: bool = True,
    cache: str | Path | None = None,
    suites_dir: str | Path | None = None,
    data: str | Path | None = None,
    progress: bool = True,
    log: Callable[[str], None] = lambda _msg: None,
) -> tuple[RunRecord, bool]:
    """The run record of `model_dir` under `config` at `results`, and whether an earlier run was reused."""
    from gate.run import run_model

    record = reusable_run(results, model_dir, config, suites_dir)
    reused = record is not None
    if reused:
        log(f"reusing {results}: same weights, card, suites, config and tsrgate version (sealed, verified)")
    else:
        record = run_model(model_dir, config, results, force=True, cache=cache, suites_dir=suites_dir, data=data,
                           progress=progress, log=log)
    if record_history:
        record_run_once(record, results, history_db, line)
    return record, reused


def gate_results(
    candidate: str | Path,
    baseline: str | Path,
    *,
    policy_path: str | Path | None = None,
    baselines_dir: str | Path | None = None,
    latency: bool = True,
    retime: bool = False,
    verdict_path: Path | None = None,
    reports_dir: Path | None = None,
    history_db: str | Path | None = None,
    record_history: bool = True,
    github: bool = False,
    mlflow_uri: str | None = None,
    log: Callable[[str], None] = lambda _msg: None,
) -> GateVerdict:
    """Compare, then save the verdict, write the reports, record the comparison and emit CI annotations.

    With `mlflow_uri` (a tracking URI) the verdict and the reports written are also logged as an MLflow run;
    the `mlflow` extra is checked before the comparison, so a missing extra costs no comparison.
    """
    from gate.compare import compare_results

    if mlflow_uri is not None:
        from gate.integrations.extras import require_extra

        require_extra("mlflow", "--mlflow")
    verdict = compare_results(candidate, baseline, policy_path=policy_path, baselines_dir=baselines_dir,
                              latency=latency, retime=retime, log=log)
    if verdict_path is not None:
        from gate.storage import ensure_dir

        ensure_dir(verdict_path.parent)
        verdict.save(verdict_path)
    if reports_dir is not None:
        from gate.report import write_verdict_reports

        write_verdict_reports(verdict, reports_dir, history_db=history_db)
    if record_history:
        from gate.compare.history_hook import record_compare

        record_compare(verdict, history_db)
    if github:
        from gate.report.github import emit_github

        emit_github(verdict, reports_dir)
    if mlflow_uri is not None:
        from gate.integrations.mlflow_tracking import log_comparison

        logged = log_comparison(verdict, mlflow_uri, report_dir=reports_dir)
        log(f"MLflow run {logged.run_id} logged to {logged.tracking_uri}")
    return verdict
