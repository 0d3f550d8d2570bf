"""Metric comparisons between two results folders: the rows the policy judges.

Accuracy rows come from the paired image bootstrap of the two sides' match records (same suite,
same images, same resampled image lists). Consistency rows come from the candidate's own
backend-vs-torch figures. Robustness rows (mPC, rPC) are computed per side from the suites that
share a source with a clean suite. Backends that did not run produce `not_run` rows with the reason,
so no rule can pass on something that was never measured.
"""

from __future__ import annotations

from collections.abc import Iterable

from gate.policy import GATE_METRICS, MetricComparison, Policy
from gate.policy.evaluate import selector_matches
from gate.results.opened import ResultsFolder
from gate.results.backend import REFERENCE_BACKEND
from gate.results.record import RunRecord

CONSISTENCY_METRICS = ("backend_ap_delta", "backend_disagreement")


def backends_for_accuracy(policy: Policy, available: Iterable[str]) -> list[str]:
    """Backends that some accuracy rule looks at (only those are bootstrapped)."""
    wanted = []
    for name in available:
        for rule in policy.rules:
            if GATE_METRICS[rule.metric].kind == "accuracy" and selector_matches(rule.scope.backends, name, False):
                wanted.append(name)
                break
    return wanted


def accuracy_rows(policy: Policy, suites: list[str], cand: ResultsFolder, base: ResultsFolder,
                  workers: int | None = None) -> list[MetricComparison]:
    """The bootstrapped accuracy rows of every suite and backend an accuracy rule reads.

    Each (backend, suite) bootstrap is independent, so they run in `workers` processes (default: the
    machine's cores); the rows come back in the same order whatever the number of workers."""
    candidate, baseline = cand.record, base.record
    rows: list[MetricComparison] = []
    jobs: list[tuple[int, tuple]] = []
    backend_names = [b.name for b in candidate.backends]
    for backend in backends_for_accuracy(policy, backend_names):
        for suite in suites:
            cand_entry, base_entry = candidate.entry(suite, backend), baseline.entry(suite, backend)
            if cand_entry is None or base_entry is None or cand_entry.status != "ok" or base_entry.status != "ok":
                side, entry = ("candidate", cand_entry) if cand_entry is None or cand_entry.status != "ok" else ("baseline", base_entry)
                reason = f"{side} {backend} on {suite}: " + (entry.status + (f" ({entry.reason})" if entry.reason else "")
                                                             if entry is not None else "not in the results")
                rows.append([MetricComparison(metric=m, suite=suite, backend=backend, status="not_run", status_reason=reason)
                             for m in ("ap", "ap50", "ap75")])
                continue
            rows.append([])  # filled by its job below
            jobs.append((len(rows) - 1, (policy, suite, backend, cand.match_records(suite, backend),
                                         base.match_records(suite, backend), candidate.model.score_threshold,
                                         baseline.model.score_threshold)))
    workers = default_workers() if workers is None else max(1, workers)
    if len(jobs) >= workers:  # enough suites to keep every core busy: one bootstrap per process
        from gate.machine import fork_map

        results = fork_map(_suite_job, [job for _, job in jobs], workers)
    else:  # fewer suites than cores (a drive gate, one suite): each bootstrap splits its resamples instead
        results = [_suite_job(job, workers) for _, job in jobs]
    for slot, result in zip([slot for slot, _ in jobs], results, strict=True):
        rows[slot] = result
    return [row for part in rows for row in part]


def _suite_job(job: tuple, workers: int = 1) -> list[MetricComparison]:
    policy, suite, backend, candidate, baseline, candidate_threshold, baseline_threshold = job
    return suite_accuracy_rows(policy, suite, backend, candidate, baseline, candidate_threshold=candidate_threshold,
                               baseline_threshold=baseline_threshold, workers=workers)


def default_workers() -> int:
    """Processes for the bootstrap: `$TSRGATE_WORKERS`, else the machine's cores."""
    import os

    from gate.machine import cpu_count

    return int(os.environ.get("TSRGATE_WORKERS", "0")) or cpu_count()


def suite_accuracy_rows(policy: Policy, suite: str, backend: str, candidate, baseline, *,
                        candidate_threshold: float, baseline_threshold: float,
                        workers: int = 1) -> list[MetricComparison]:
    """The accuracy rows of one suite and backend from the two sides' match records (in memory)."""
    from gate.eval import paired_bootstrap

    defaults = policy.defaults
    comparison = paired_bootstrap(
        candidate, baseline, candidate_threshold=candidate_threshold, baseline_threshold=baseline_threshold,
        resamples=defaults.resamples, confidence=defaults.confidence, seed=defaults.seed,
        min_support=defaults.min_support, workers=workers,
    )
    rows = []
    for d in comparison.deltas:
        if d.metric not in GATE_METRICS:
            continue
        rows.append(MetricComparison(
            metric=d.metric, suite=suite, backend=backend, class_name=d.class_name, size=d.size,
            candidate=d.value_candidate, baseline=d.value_baseline, delta=d.delta, ci_low=d.ci_low,
            ci_high=d.ci_high, p_worse=d.p_worse, support=d.support, se=d.se,
            status="not_run" if d.status == "undefined" else "ok",
            status_reason="undefined: no ground truth in scope" if d.status == "undefined" else "",
        ))
    return rows


def _figures(results: ResultsFolder, suite: str, backend: str):
    consistency = results.consistency(suite)
    return None if consistency is None else consistency.backends.get(backend)


def _reference_form(results: ResultsFolder) -> str:
    """The form the run compared every other form with: torch, or the fp32 ONNX of a model without a PyTorch form."""
    for suite in results.record.consistency_files:
        consistency = results.consistency(suite)
        if consistency is not None:
            return consistency.reference
    return REFERENCE_BACKEND


def consistency_rows(suites: list[str], cand: ResultsFolder, base: ResultsFolder) -> list[MetricComparison]:
    reference = _reference_form(cand)
    rows = []
    for b in cand.record.backends:
        name = b.name
        if name in (REFERENCE_BACKEND, reference):
            continue
        for suite in suites:
            figures = _figures(cand, suite, name)
            if not b.ok or figures is None:
                reason = f"{name}: {b.status}" + (f" ({b.reason})" if b.reason else "")
                if b.ok:
                    reason = f"{name} on {suite}: no consistency figures (failed run or no torch reference)"
                rows.extend(MetricComparison(metric=m, suite=suite, backend=name, status="not_run", status_reason=reason)
                            for m in CONSISTENCY_METRICS)
                continue
            base_figures = _figures(base, suite, name)
            ap = figures.ap_delta
            base_ap = base_figures.ap_delta if base_figures else None
            rows.append(MetricComparison(
                metric="backend_ap_delta", suite=suite, backend=name, candidate=ap.loss if ap else None,
                baseline=base_ap.loss if base_ap else None, ci_low=ap.ci_low if ap else None,
                ci_high=ap.ci_high if ap else None,
                delta=None if ap is None or base_ap is None else ap.loss - base_ap.loss,
            ))
            rate = figures.consistency.disagreement_rate
            base_rate = base_figures.consistency.disagreement_rate if base_figures else None
            rows.append(MetricComparison(
                metric="backend_disagreement", suite=suite, backend=name, candidate=rate, baseline=base_rate,
                delta=None if base_rate is None else rate - base_rate,
            ))
    return rows


def _clean_partner(name: str, clean_suites: set[str]) -> str | None:
    prefix = name.rsplit("-", 1)[0] + "-" if "-" in name else ""
    partner = f"{prefix}clean"
    return partner if partner in clean_suites else None


def robustness_rows(suites: list[str], candidate: RunRecord, baseline: RunRecord) -> list[MetricComparison]:
    """mPC and rPC (AP, torch) per clean suite and its corrupted partners, per side."""
    from gate.eval import robustness

    transforms = {s.name: s.transforms for s in candidate.suites}
    clean = {s for s in suites if not transforms.get(s)}
    groups: dict[str, dict[tuple[str, int], str]] = {}
    for suite in suites:
        partner = _clean_partner(suite, clean)
        steps = transforms.get(suite) or []
        if partner is None or len(steps) != 1:
            continue  # mPC is defined over single corruptions at a severity
        corruption, _, severity = steps[0].partition("@")
        groups.setdefault(partner, {})[(corruption, int(severity or 0))] = suite

    def values(record: RunRecord, clean_suite: str, members: dict[tuple[str, int], str]):
        clean_entry = record.entry(clean_suite, REFERENCE_BACKEND)
        entries = {key: record.entry(s, REFERENCE_BACKEND) for key, s in members.items()}
        if clean_entry is None or clean_entry.status != "ok" or any(e is None or e.status != "ok" for e in entries.values()):
            return None
        return robustness(clean_entry.summary["ap"], {k: e.summary["ap"] for k, e in entries.items()})

    rows = []
    for clean_suite, members in sorted(groups.items()):
        cand, base = values(candidate, clean_suite, members), values(baseline, clean_suite, members)
        label = f"{clean_suite}+corruptions"
        for metric in ("mpc", "rpc"):
            c = getattr(cand, metric) if cand else None
            b = getattr(base, metric) if base else None
            rows.append(MetricComparison(
                metric=metric, suite=label, backend=REFERENCE_BACKEND, candidate=c, baseline=b,
                delta=None if c is None or b is None else c - b,
                status="ok" if c is not None else "not_run",
                status_reason="" if c is not None else "a clean or corrupted suite did not run on torch",
            ))
    return rows
