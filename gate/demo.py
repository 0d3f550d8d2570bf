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

from gate.compare import GateVerdict, compare_results
from gate.compare.verdict import VERDICT_FILE
from gate.errors import GateError
from gate.run import GateConfig, load_gate_config, run_model
from gate.run.history_hook import record_run
from gate.suites.locations import repo_root

DEMO_BASELINE = "synth-baseline"
DEMO_CANDIDATE = "synth-candidate"


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
    from gate.suites.locations import cache_root
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
    from gate.models.card import load_card
    from gate.run import load_run

    store = BaselineStore(root / "baselines")
    if line is None or store.current_version(line) is None:
        return None
    results = store.results_path(line)
    record = load_run(results)  # verifies the folder's seal
    shipped = load_card(root / "models" / DEMO_BASELINE)
    if record.model.weights_sha256 != shipped.weights.sha256 or _suite_manifests(record) != suites:
        return None
    return record, results


def reusable_results(results: Path, model_dir: Path, config: GateConfig, suites: dict[str, str]):
    """The run record of an earlier demo run when nothing it depends on changed (else None): the same
    weights and card, the same suite manifests, the same config and tsrgate version, seal intact."""
    from gate import __version__
    from gate.errors import GateError
    from gate.models.card import card_path, load_card
    from gate.run import load_run
    from gate.storage import sha256_file

    if not (results / "run.json").is_file():
        return None
    try:
        record = load_run(results)
        weights_sha256 = load_card(model_dir).weights.sha256  # checks the weights file against the card
    except GateError:
        return None  # a damaged or unsealed folder is simply recomputed
    same = (
        record.tsrgate_version == __version__
        and record.model.weights_sha256 == weights_sha256
        and record.model.card_sha256 == sha256_file(card_path(model_dir))
        and record.config == config.model_dump(mode="json")
        and _suite_manifests(record) == suites
    )
    return record if same else None


def _suite_manifests(record) -> dict[str, str]:
    return {s.name: s.manifest_sha256 for s in record.suites}


def record_run_once(record, results: Path, line: str = "synth") -> None:
    """Record a run that was reused rather than made now, unless the history already holds it
    (same model, weights and results folder): a demo re-run adds no duplicate run rows."""
    from gate.history import HistoryStore

    known = HistoryStore().entries(kind="run", line=line, model=record.model.name)
    if not any(e.weights_sha256 == record.model.weights_sha256 and e.results_path == str(results) for e in known):
        record_run(record, results, None, line=line)


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
    from gate.backends.machine import cpu_count
    from gate.compare.history_hook import record_compare
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
        record_run_once(record, results)
        records[DEMO_BASELINE] = results
    for step, model_name in ((2, DEMO_BASELINE), (3, DEMO_CANDIDATE)):
        if model_name in records:
            continue
        log(f"[{step}/4] {model_name}: {', '.join(config.suites)} on {', '.join(config.backends)}")
        results = results_root / model_name
        record = reusable_results(results, root / "models" / model_name, config, suites_opened)
        if record is not None:
            log(f"      reusing {results}: same weights, card, suites, config and tsrgate version (sealed, verified)")
            record_run_once(record, results)
        else:
            record = run_model(root / "models" / model_name, config, results, force=True, progress=progress,
                               log=lambda m: log(f"      {m}"))
            record_run(record, results, None, line="synth")
        records[model_name] = results

    log(f"[4/4] compare {DEMO_CANDIDATE} against {DEMO_BASELINE} under the default policy")
    verdict = compare_results(records[DEMO_CANDIDATE], records[DEMO_BASELINE], log=lambda m: log(f"      {m}"))
    out.mkdir(parents=True, exist_ok=True)
    verdict.save(out / VERDICT_FILE)
    from gate.report import write_verdict_reports

    write_verdict_reports(verdict, out)
    record_compare(verdict, None)
    from gate.demo_drives import DRIVE_CONFIG, run_drive_gate

    log(f"[+] drive gate ({DRIVE_CONFIG}): {DEMO_CANDIDATE} against {DEMO_BASELINE} on drive sequences")
    drives = run_drive_gate(root, results_root, out / "drives", threads=threads, progress=progress, log=log,
                            models=(DEMO_BASELINE, DEMO_CANDIDATE))
    if drives is not None:
        log(f"      drive gate: {drives.outcome.upper()} ({drives.counts['fail']} failed, {drives.counts['warn']} "
            f"warnings); report {out / 'drives' / 'report.html'}")
    log(f"done in {time.perf_counter() - started:.0f} s")
    return verdict, out
