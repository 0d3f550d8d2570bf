"""The release sign-off workflow: run the model on every suite the line's baseline covers, on every backend,
compare under the release policy, and write the sign-off HTML with its verdict JSON beside it.

Runs are reused under the gate workflow's one reuse rule (`gate.workflow.reusable_run`: same weights, card,
suite manifests, config and tsrgate version); unavailable backends are recorded with their reason. The
verdict JSON sits beside the HTML so the hashes in the sign-off block can be checked and
`tsrgate baseline promote --verdict` can cite it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gate.errors import InputError
from gate.policy import default_policy_path
from gate.report.history import model_history
from gate.report.signoff import SignoffPlan, baseline_history_rows, render_signoff
from gate.results.backend import REFERENCE_BACKEND
from gate.results.verdict import GateVerdict
from gate.storage import atomic_write_text

RELEASE_POLICY = "release"


def release_policy_path() -> Path:
    """gate/policies/release.yaml when it exists, else the default policy."""
    path = default_policy_path(RELEASE_POLICY)
    return path if path.is_file() else default_policy_path()


def default_backends() -> list[str]:
    from gate.backends import backend_names

    names = backend_names()
    return [REFERENCE_BACKEND, *[n for n in names if n != REFERENCE_BACKEND]] if REFERENCE_BACKEND in names else names


def plan_signoff(baseline_record, suites: list[str] | None, backends: list[str] | None,
                 suites_dir: str | Path | None) -> SignoffPlan:
    """Every shipped suite the baseline has results on (or the ones asked for), every backend."""
    from gate import locations
    from gate.suites.catalog import suite_names

    baseline_suites = [s.name for s in baseline_record.suites]
    if suites:
        missing = [s for s in suites if s not in baseline_suites]
        if missing:
            raise InputError(f"the baseline has no results on suite(s) {', '.join(missing)} "
                             f"(it has: {', '.join(baseline_suites)})")
        chosen, skipped = list(suites), []
    else:
        shipped = suite_names(locations.suites_root(suites_dir))
        chosen = [s for s in baseline_suites if s in shipped]
        skipped = [s for s in shipped if s not in baseline_suites]
        if not chosen:
            raise InputError(f"none of the baseline's suites ({', '.join(baseline_suites)}) is shipped in "
                             f"{locations.suites_root(suites_dir)}")
    return SignoffPlan(suites=chosen, skipped_suites=skipped, backends=list(backends or default_backends()))


@dataclass
class SignoffOutcome:
    verdict: GateVerdict
    html_path: Path
    verdict_path: Path
    results_path: Path
    results_reused: bool
    plan: SignoffPlan


def prepare_signoff(
    model_dir: str | Path,
    line: str,
    out: str | Path,
    *,
    suites: list[str] | None = None,
    backends: list[str] | None = None,
    results_dir: str | Path | None = None,
    policy_path: str | Path | None = None,
    baselines_dir: str | Path | None = None,
    cache: str | Path | None = None,
    suites_dir: str | Path | None = None,
    data: str | Path | None = None,
    history_db: str | Path | None = None,
    prepared_by: str | None = None,
    latency: bool = True,
    threads: int | None = None,
    record_history: bool = True,
    log: Callable[[str], None] = lambda _msg: None,
) -> SignoffOutcome:
    """Run (or reuse), compare under the release policy, and write the sign-off HTML and its verdict JSON.

    With `record_history` the run (once: a reused run is not recorded again) and the comparison are recorded
    in the history database first, so the document's trend includes this candidate.
    """
    from gate.baselines import BaselineStore
    from gate.cards.card import load_card
    from gate.results.config import GateConfig
    from gate.results.opened import load_run
    from gate.workflow import gate_results, run_or_reuse

    model_dir, out = Path(model_dir), Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError("the sign-off document is HTML: give --out a .html file name", path=out)
    card = load_card(model_dir, verify_weights=True)
    store = BaselineStore(baselines_dir)
    baseline_results = store.results_path(line)
    baseline_record = load_run(baseline_results)
    plan = plan_signoff(baseline_record, suites, backends, suites_dir)
    for name in plan.skipped_suites:
        log(f"suite {name}: shipped, but line {line!r} has no baseline results on it; not part of this sign-off")

    results = Path(results_dir) if results_dir else Path("results") / "signoff" / f"{card.name}-{card.weights.sha256[:12]}"
    config = GateConfig(suites=plan.suites, backends=plan.backends, threads=threads)
    _, reused = run_or_reuse(model_dir, config, results, line=line, history_db=history_db,
                             record_history=record_history, cache=cache, suites_dir=suites_dir, data=data,
                             progress=False, log=log)
    # The history is recorded before the document is rendered, so its trend includes this candidate.
    verdict_path = out.with_name(out.stem + ".verdict.json")
    policy = Path(policy_path) if policy_path else release_policy_path()
    verdict = gate_results(results, baseline_results, policy_path=policy, latency=latency, verdict_path=verdict_path,
                           history_db=history_db, record_history=record_history, log=log)
    html = render_signoff(verdict, line=line, baseline_version=store.current_version(line) or "?",
                          history=baseline_history_rows(store, line), verdict_path=verdict_path,
                          trend=model_history(sorted({verdict.candidate.model.name, verdict.baseline.model.name}),
                                              history_db, line=line),
                          plan=plan, prepared_by=prepared_by)
    atomic_write_text(out, html)
    return SignoffOutcome(verdict=verdict, html_path=out, verdict_path=verdict_path, results_path=results,
                          results_reused=reused, plan=plan)
