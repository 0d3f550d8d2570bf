"""The release sign-off: one HTML document a release manager reads and signs.

`prepare_signoff` runs the model on every shipped suite the line's baseline covers, on every
backend (unavailable ones are recorded with their reason), reusing an earlier results folder when
nothing that determines it changed (same weights, card, suite manifests and backends; the
runner's prediction cache makes a re-run fast in any case). It compares the results with the
line's current baseline under the release policy and writes the verdict JSON beside the HTML, so
the hashes in the sign-off block can be checked and `tsrgate baseline promote --verdict` can cite it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gate.compare.verdict import GateVerdict
from gate.errors import GateError, InputError
from gate.policy import default_policy_path
from gate.report import sections
from gate.report.history import TrendSection, model_history
from gate.storage import atomic_write_text, sha256_file

RELEASE_POLICY = "release"


def release_policy_path() -> Path:
    """gate/policies/release.yaml when it exists, else the default policy."""
    path = default_policy_path(RELEASE_POLICY)
    return path if path.is_file() else default_policy_path()


def default_backends() -> list[str]:
    from gate.backends import backend_names

    names = backend_names()
    return ["torch", *[n for n in names if n != "torch"]] if "torch" in names else names


@dataclass
class SignoffPlan:
    suites: list[str]
    skipped_suites: list[str]  # shipped, but the baseline has no results on them
    backends: list[str]


def plan_signoff(baseline_record, suites: list[str] | None, backends: list[str] | None,
                 suites_dir: str | Path | None) -> SignoffPlan:
    """Every shipped suite the baseline has results on (or the ones asked for), every backend."""
    from gate.suites import locations
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


def reusable_results(results: Path, model_dir: Path, plan: SignoffPlan, suites_dir: str | Path | None) -> bool:
    """An earlier results folder made from the same weights, card, suite manifests and backends."""
    from gate.models.card import card_path
    from gate.run.record import load_run
    from gate.suites.catalog import find_suite
    from gate.suites.manifest import MANIFEST_FILE

    try:
        record = load_run(results, verify=True)
        if record.model.card_sha256 != sha256_file(card_path(model_dir)):
            return False
        from gate.models.card import load_card

        if record.model.weights_sha256 != load_card(model_dir, verify_weights=True).weights.sha256:
            return False
        if [s.name for s in record.suites] != plan.suites or [b["name"] for b in record.backends] != plan.backends:
            return False
        for suite in record.suites:
            manifest = find_suite(suite.name, None, suites_dir) / MANIFEST_FILE
            if sha256_file(manifest) != suite.manifest_sha256:
                return False
        return True
    except (GateError, OSError):
        return False


@dataclass
class BaselineVersionRow:
    version: str
    current: bool
    promoted_at: str
    signed_by: str
    git_commit: str | None
    verdict: str
    model: str
    weights_sha256: str
    results_index_sha256: str
    ap: dict[str, float | None] = field(default_factory=dict)  # suite -> torch AP
    note: str = ""


def baseline_history_rows(store, line: str) -> list[BaselineVersionRow]:
    from gate.run.record import load_run

    rows = []
    for version in store.history(line):
        s = version.signoff
        row = BaselineVersionRow(
            version=version.version, current=version.current, promoted_at=s.promoted_at, signed_by=s.signed_by,
            git_commit=s.git_commit, verdict=(s.verdict or {}).get("outcome", "none recorded"), model="?",
            weights_sha256="", results_index_sha256=s.results_index_sha256,
        )
        try:
            record = load_run(version.results_path, verify=False)
            row.model = f"{record.model.name} {record.model.version}"
            row.weights_sha256 = record.model.weights_sha256
            row.ap = {e.suite: e.summary.get("ap") for e in record.entries if e.backend == "torch" and e.status == "ok"}
        except GateError as exc:
            row.note = str(exc)
        rows.append(row)
    return rows


@dataclass
class SignoffOutcome:
    verdict: GateVerdict
    html_path: Path
    verdict_path: Path
    results_path: Path
    results_reused: bool
    plan: SignoffPlan
    evidence_path: Path | None = None


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
    evidence_path: str | Path | None = None,
    log: Callable[[str], None] = lambda _msg: None,
) -> SignoffOutcome:
    """Run (or reuse), compare under the release policy, and write the sign-off HTML and its verdict JSON.

    With `record_history` the run (when not reused) and the comparison are recorded in the history
    database first, so the document's trend includes this candidate. With `evidence_path` the
    requirement traceability table is also written there as JSON (for a safety case).
    """
    from gate.baselines import BaselineStore
    from gate.compare import compare_results
    from gate.models.card import load_card
    from gate.run import GateConfig, load_run, run_model

    model_dir, out = Path(model_dir), Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError("the sign-off document is HTML: give --out a .html file name", path=out)
    if evidence_path is not None and (Path(evidence_path).suffix.lower() != ".json" or Path(evidence_path).is_dir()):
        raise InputError("the traceability evidence is JSON: give --evidence a .json file name", path=evidence_path)
    card = load_card(model_dir, verify_weights=True)
    store = BaselineStore(baselines_dir)
    baseline_results = store.results_path(line)
    baseline_record = load_run(baseline_results)
    plan = plan_signoff(baseline_record, suites, backends, suites_dir)
    for name in plan.skipped_suites:
        log(f"suite {name}: shipped, but line {line!r} has no baseline results on it; not part of this sign-off")

    results = Path(results_dir) if results_dir else Path("results") / "signoff" / f"{card.name}-{card.weights.sha256[:12]}"
    reused = results.is_dir() and reusable_results(results, model_dir, plan, suites_dir)
    if reused:
        log(f"reusing results in {results} (same weights, card, suites and backends)")
    else:
        config = GateConfig(suites=plan.suites, backends=plan.backends, threads=threads)
        record = run_model(model_dir, config, results, force=True, cache=cache, suites_dir=suites_dir, data=data,
                           progress=False, log=log)
        if record_history:
            from gate.run.history_hook import record_run

            record_run(record, results, history_db, line)
    policy = Path(policy_path) if policy_path else release_policy_path()
    verdict = compare_results(results, baseline_results, policy_path=policy, latency=latency, log=log)
    if record_history:
        from gate.compare.history_hook import record_compare

        record_compare(verdict, history_db)
    verdict_path = out.with_name(out.stem + ".verdict.json")
    verdict.save(verdict_path)
    from gate.report.traceability import build_traceability

    traceability = build_traceability(verdict, verdict_path)
    if evidence_path is not None:
        traceability.save(evidence_path)
    html = render_signoff(verdict, line=line, baseline_version=store.current_version(line) or "?",
                          history=baseline_history_rows(store, line), verdict_path=verdict_path,
                          trend=model_history(sorted({verdict.candidate.model.name, verdict.baseline.model.name}),
                                              history_db, line=line),
                          plan=plan, prepared_by=prepared_by, traceability=traceability,
                          evidence_path=evidence_path)
    atomic_write_text(out, html)
    return SignoffOutcome(verdict=verdict, html_path=out, verdict_path=verdict_path, results_path=results,
                          results_reused=reused, plan=plan,
                          evidence_path=Path(evidence_path) if evidence_path is not None else None)


@dataclass
class SuiteSummary:
    name: str
    version: str
    manifest_sha256: str
    ap: object  # MetricComparison | None (torch, whole suite)
    ap50: object
    failed: int
    warned: int


def suite_summaries(verdict: GateVerdict) -> list[SuiteSummary]:
    rows = []
    for suite in verdict.candidate.suites:
        if suite.name not in verdict.suites:
            continue
        whole = {r.metric: r for r in verdict.comparisons
                 if r.suite == suite.name and r.backend == "torch" and r.class_name is None and r.size is None}
        outcomes = [o for o in verdict.outcomes if o.suite == suite.name]
        rows.append(SuiteSummary(name=suite.name, version=suite.version, manifest_sha256=suite.manifest_sha256,
                                 ap=whole.get("ap"), ap50=whole.get("ap50"),
                                 failed=sum(o.outcome == "fail" for o in outcomes),
                                 warned=sum(o.outcome == "warn" for o in outcomes)))
    return rows


def render_signoff(verdict: GateVerdict, *, line: str, baseline_version: str, history: list[BaselineVersionRow],
                   verdict_path: Path, trend: TrendSection, plan: SignoffPlan, prepared_by: str | None = None,
                   traceability=None, evidence_path: str | Path | None = None) -> str:
    """The sign-off HTML (self-contained, like the verdict report); traceability is built when not given."""
    from gate import __version__
    from gate.policy import GATE_METRICS
    from gate.report.evidence import VerdictEvidence
    from gate.report.plots import latency_svg, series_svg, LatencyBar
    from gate.report.templating import render_template, trusted_markup

    from gate.report.traceability import STATUS_LABELS, build_traceability

    evidence = VerdictEvidence(verdict)
    if traceability is None:
        traceability = build_traceability(verdict, verdict_path)
    suites = [s.name for s in suite_summaries(verdict)]
    labels = [f"{h.version} {h.model}" for h in history] + [f"candidate {verdict.candidate.model.name} "
                                                            f"{verdict.candidate.model.version}"]
    candidate_ap = {r.suite: r.candidate for r in verdict.comparisons
                    if r.metric == "ap" and r.backend == "torch" and r.class_name is None and r.size is None}
    series = {suite: [h.ap.get(suite) for h in history] + [candidate_ap.get(suite)] for suite in suites}
    baselines_svg = series_svg(labels, series, "AP (torch)", f"line {line}: promoted baselines and this candidate",
                               highlight_last=True)
    latency = sections.latency_rows(verdict, evidence)
    bars = [LatencyBar(backend=r.backend, candidate_p50=r.candidate_p50, candidate_p99=r.candidate_p99,
                       baseline_p50=r.baseline_p50, baseline_p99=r.baseline_p99) for r in latency if r.candidate_p50]
    return render_template(
        "signoff.html.j2",
        v=verdict, line=line, baseline_version=baseline_version, plan=plan,
        banner_label=sections.OUTCOME_LABELS[verdict.outcome],
        directions={name: metric.higher_is_better for name, metric in GATE_METRICS.items()},
        failing=sections.sorted_outcomes(verdict, ("fail",)),
        warnings=sections.sorted_outcomes(verdict, ("warn",)),
        not_judged=sections.sorted_outcomes(verdict, ("insufficient_support", "not_run")),
        suite_rows=suite_summaries(verdict),
        backends=sections.backend_statuses(verdict),
        backend_ap=sections.backend_ap_table(verdict, evidence),
        consistency=sections.consistency_rows(verdict, evidence),
        latency=latency,
        latency_plot=trusted_markup(latency_svg(bars)) if bars else None,
        history=history, history_suites=suites,
        baselines_plot=trusted_markup(baselines_svg),
        trend=trend, trend_svg=trusted_markup(trend.svg) if trend.svg else None,
        verdict_file=str(verdict_path), verdict_sha256=sha256_file(verdict_path),
        evidence_problems=evidence.problems,
        prepared_by=prepared_by or "",
        traceability=traceability, status_labels=STATUS_LABELS,
        evidence_file=str(evidence_path) if evidence_path is not None else "",
        tsrgate_version=__version__,
    )
