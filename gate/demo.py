"""The main job on the embedded default: generated world -> suites -> two shipped models -> verdict -> reports.

Everything it needs ships with the repository (suite specs and manifests, the two models) or is
generated here (the sign world, rendered suite images), so it runs on a fresh machine without
network or external data.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from gate.errors import GateError
from gate.locations import repo_root
from gate.results.config import GateConfig, load_gate_config
from gate.results.verdict import VERDICT_FILE, GateVerdict
from gate.workflow import gate_results, record_run_once, run_or_reuse

DEMO_BASELINE = "synth-baseline"
DEMO_CANDIDATE = "synth-candidate"
DEMO_LINE = "synth"  # the history line the demo's runs and comparison are recorded under
DRIVE_CONFIG = "tsrgate-drives.yaml"  # the demo's drive gate (see run_drive_gate)
DRIVE_LINE = "synth-drives"  # the history line the drive gate's runs are recorded under


class DemoModelsMissing(GateError):
    """The shipped models the demo gates are not in this checkout (the gate steps cannot run)."""

    def __init__(self, missing: list[str]):
        names = ", ".join(missing)
        super().__init__(f"shipped model(s) missing: {names}; the suites were built and verified, the gate steps "
                         "(run, compare, report) need them: train with the recipes in models/recipes/")
        self.missing = missing


def missing_models(root: Path) -> list[str]:
    return [f"models/{name}" for name in (DEMO_BASELINE, DEMO_CANDIDATE)
            if not any((root / "models" / name / card).is_file() for card in ("card.json", "card.yaml"))]


def check_world(suite, log: Callable[[str], None]) -> None:
    """Curation check of the generated world the suites were drawn from (what runs without models)."""
    from gate.data.check import check_dataset
    from gate.locations import cache_root
    from gate.suites.resolved import manifest_source
    from gate.suites.source import world_location

    source = manifest_source(suite.manifest)
    if source.synth is None:
        return
    world = world_location(source, cache_root())
    report = check_dataset(world)
    stats = report.statistics
    log(f"      world {world}: {stats.images} images, {stats.boxes} boxes, "
        f"{len(report.problems)} problems, {len(report.warnings)} warnings")


def stored_baseline(root: Path, line: str | None, suites: dict[str, str]):
    """(run record, results folder) of the committed baseline when it was made from the shipped
    synth-baseline weights on the demo's suites ({name: manifest sha256}); None means the demo runs
    the baseline itself."""
    from gate.baselines.store import BaselineStore
    from gate.cards.card import load_card
    from gate.results.opened import load_run

    store = BaselineStore(root / "baselines")
    if line is None or store.current_version(line) is None:
        return None
    results = store.results_path(line)
    record = load_run(results)  # verifies the folder's seal
    shipped = load_card(root / "models" / DEMO_BASELINE)
    if record.model.weights_sha256 != shipped.weights.sha256 or {s.name: s.manifest_sha256 for s in record.suites} != suites:
        return None
    return record, results


def demo_config(root: Path) -> GateConfig:
    return load_gate_config(root / "tsrgate.yaml")


def run_demo(
    out: Path | None = None,
    results_root: Path | None = None,
    *,
    threads: int | None = None,
    log: Callable[[str], None] = print,
    progress: bool = True,
) -> tuple[GateVerdict, Path]:
    """Run both shipped models through the shipped synthetic suites and compare them; returns the verdict."""
    from gate.machine import cpu_count
    from gate.suites import open_suite

    root = repo_root()
    out = out if out is not None else root / "reports" / "demo"
    results_root = results_root if results_root is not None else root / "results" / "demo"
    config = demo_config(root)
    if threads is None and config.threads is None and "TSRGATE_THREADS" not in os.environ:
        # The demo is the only job on the machine: let each backend use the cores (up to 4).
        threads = max(1, min(4, cpu_count()))
    if threads is not None:
        config = config.model_copy(update={"threads": threads})
    started = time.perf_counter()

    log(f"[1/4] suites: generating the sign world and rendering {len(config.suites)} suites (cached after the first run)")
    suites_opened = {}
    for name in config.suites:
        suite = open_suite(name)
        suites_opened[suite.name] = suite.manifest_sha256
        log(f"      {suite.name} v{suite.version}: {len(suite)} images, manifest {suite.manifest_sha256[:12]} verified")
    missing = missing_models(root)
    if missing:
        check_world(suite, log)
        raise DemoModelsMissing(missing)

    records = {}
    stored = stored_baseline(root, config.baseline, suites_opened)
    if stored is not None:
        record, results = stored
        log(f"[2/4] {DEMO_BASELINE}: the stored baseline baselines/{config.baseline} (its results of models/"
            f"{DEMO_BASELINE}, weights {record.model.weights_sha256[:12]}, run {record.created_at}; sealed, verified)")
        record_run_once(record, results, None, DEMO_LINE)
        records[DEMO_BASELINE] = results
    for step, model_name in ((2, DEMO_BASELINE), (3, DEMO_CANDIDATE)):
        if model_name in records:
            continue
        log(f"[{step}/4] {model_name}: {', '.join(config.suites)} on {', '.join(config.backends)}")
        results = results_root / model_name
        run_or_reuse(root / "models" / model_name, config, results, line=DEMO_LINE, progress=progress,
                     log=lambda m: log(f"      {m}"))
        records[model_name] = results

    log(f"[4/4] compare {DEMO_CANDIDATE} against {DEMO_BASELINE} under the default policy")
    verdict = gate_results(records[DEMO_CANDIDATE], records[DEMO_BASELINE], verdict_path=out / VERDICT_FILE,
                           reports_dir=out, log=lambda m: log(f"      {m}"))
    log(f"[+] drive gate ({DRIVE_CONFIG}): {DEMO_CANDIDATE} against {DEMO_BASELINE} on drive sequences")
    drives = run_drive_gate(root, results_root, out / "drives", threads=threads, progress=progress, log=log,
                            models=(DEMO_BASELINE, DEMO_CANDIDATE))
    if drives is not None:
        log(f"      drive gate: {drives.outcome.upper()} ({drives.counts['fail']} failed, {drives.counts['warn']} "
            f"warnings); report {out / 'drives' / 'report.html'}")
    total = time.perf_counter() - started
    log(f"done in {total:.0f} s")
    from gate.stages import write_stage_times

    write_stage_times({"total": total})  # for bench/gate_time.py, when $TSRGATE_STAGE_TIMES names a file
    return verdict, out


def run_drive_gate(root: Path, results_root: Path, out: Path, *, threads: int | None,
                   models: tuple[str, str], progress: bool, log: Callable[[str], None]) -> GateVerdict | None:
    """The demo's drive gate: both shipped models on the drive suites of `tsrgate-drives.yaml`, compared with
    the sequence rules of the default policy, reported in `out` (`<demo reports>/drives/`).

    It is a gate of its own beside the main one because the committed baseline (`baselines/synth`) holds
    no drive suite yet: the baseline model is run here on the drive suites (torch only, to keep the demo
    short), and an unchanged earlier run of either model is reused under the workflow's one reuse rule.
    `models` is (baseline, candidate); returns None when the repository has no drive config.
    """
    from gate.suites import open_suite

    path = root / DRIVE_CONFIG
    if not path.is_file():
        return None
    config = load_gate_config(path)
    if threads is not None:
        config = config.model_copy(update={"threads": threads})
    for name in config.suites:
        suite = open_suite(name)
        table = suite.manifest.sequence
        log(f"      {suite.name} v{suite.version}: {len(table.drives) if table else 0} drives, {len(suite)} frames, "
            f"manifest {suite.manifest_sha256[:12]} verified")
    folders = {}
    for model_name in models:
        results = results_root / f"{model_name}-drives"
        log(f"      {model_name}: {', '.join(config.suites)} on {', '.join(config.backends)}")
        run_or_reuse(root / "models" / model_name, config, results, line=DRIVE_LINE, progress=progress,
                     log=lambda m: log(f"      {m}"))
        folders[model_name] = results
    baseline, candidate = models
    # The drive verdict is written and reported beside the main one, not recorded as the line's comparison.
    return gate_results(folders[candidate], folders[baseline], policy_path=config.policy, latency=False,
                        verdict_path=out / VERDICT_FILE, reports_dir=out, record_history=False,
                        log=lambda m: log(f"      {m}"))
