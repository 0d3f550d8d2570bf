"""The demo's drive gate: both shipped models on the drive suites of `tsrgate-drives.yaml`, compared with
the sequence rules of the default policy, reported in `<demo reports>/drives/`.

It is a gate of its own beside the main one because the committed baseline (`baselines/synth`) holds
no drive suite yet: the baseline model is run here on the drive suites (torch only, to keep the demo
short), and an unchanged earlier run of either model is reused like the main demo's runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gate.compare import GateVerdict, compare_results
from gate.compare.verdict import VERDICT_FILE
from gate.run import load_gate_config, run_model
from gate.run.history_hook import record_run

DRIVE_CONFIG = "tsrgate-drives.yaml"


def run_drive_gate(root: Path, results_root: Path, out: Path, *, threads: int | None,
                   models: tuple[str, str], progress: bool, log: Callable[[str], None]) -> GateVerdict | None:
    """Run (or reuse) both models on the drive suites, compare candidate against baseline, write the reports.

    `models` is (baseline, candidate); returns None when the repository has no drive config."""
    from gate.demo import reusable_results
    from gate.report import write_verdict_reports
    from gate.suites import open_suite

    path = root / DRIVE_CONFIG
    if not path.is_file():
        return None
    config = load_gate_config(path)
    if threads is not None:
        config = config.model_copy(update={"threads": threads})
    suites = {}
    for name in config.suites:
        suite = open_suite(name)
        suites[suite.name] = suite.manifest_sha256
        table = suite.manifest.sequence
        log(f"      {suite.name} v{suite.version}: {len(table.drives) if table else 0} drives, {len(suite)} frames, "
            f"manifest {suite.manifest_sha256[:12]} verified")
    folders = {}
    for model_name in models:
        results = results_root / f"{model_name}-drives"
        record = reusable_results(results, root / "models" / model_name, config, suites)
        if record is not None:
            log(f"      {model_name}: reusing {results} (same weights, card, suites, config; sealed, verified)")
        else:
            log(f"      {model_name}: {', '.join(config.suites)} on {', '.join(config.backends)}")
            record = run_model(root / "models" / model_name, config, results, force=True, progress=progress,
                               log=lambda m: log(f"      {m}"))
            record_run(record, results, None, line="synth-drives")
        folders[model_name] = results
    baseline, candidate = models
    verdict = compare_results(folders[candidate], folders[baseline], policy_path=config.policy, latency=False,
                              log=lambda m: log(f"      {m}"))
    out.mkdir(parents=True, exist_ok=True)
    verdict.save(out / VERDICT_FILE)
    write_verdict_reports(verdict, out)
    return verdict
