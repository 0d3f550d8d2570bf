"""Compare a candidate's results with a baseline's under a policy and produce the verdict."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from gate.baselines import BaselineStore
from gate.baselines.store import CURRENT_FILE
from gate.compare.comparisons import accuracy_rows, consistency_rows, robustness_rows
from gate.compare.preprocessing import compare_preprocessing
from gate.compare.sequences import sequence_rows
from gate.errors import InputError, RefusedError
from gate.policy import MetricComparison, apply_policy, default_policy_path, load_policy
from gate.policy.evaluate import family_summary
from gate.policy.scopes import check_rule_scopes
from gate.provenance import output_timestamp
from gate.results.opened import ResultsFolder
from gate.results.latency import LatencyStats
from gate.results.record import RunRecord
from gate.results.verdict import (
    BootstrapSettings, GateVerdict, LatencyRatios, PolicyProvenance, SideProvenance, VerdictLatency, overall_outcome,
)
from gate.run.external import is_external_backend, reported_latency


def resolve_results(ref: str | Path, baselines_dir: str | Path | None = None) -> Path:
    """A results folder, a line folder (`baselines/<line>`), or a bare line name -> the results folder."""
    path = Path(ref)
    if (path / CURRENT_FILE).is_file():
        return BaselineStore(path.parent).results_path(path.name)
    if path.is_dir():
        return path
    store = BaselineStore(baselines_dir)
    if "/" not in str(ref) and (store.root / str(ref) / CURRENT_FILE).is_file():
        return store.results_path(str(ref))
    raise InputError(f"no results folder or baseline line named {str(ref)!r} "
                     f"(baseline lines in {store.root}: {', '.join(store.lines()) or 'none'})")


def check_compatible(candidate: RunRecord, baseline: RunRecord) -> tuple[list[str], list[str]]:
    """Suites both sides ran on identical bytes; refuses version, manifest or taxonomy mismatches."""
    base_suites = {s.name: s for s in baseline.suites}
    common, notes = [], []
    for suite in candidate.suites:
        other = base_suites.get(suite.name)
        if other is None:
            notes.append(f"suite {suite.name} v{suite.version}: not in the baseline results; not compared")
            continue
        if suite.version != other.version:
            raise RefusedError(f"suite {suite.name}: candidate ran version {suite.version}, baseline version "
                               f"{other.version}; re-run the baseline on the same suite version")
        if suite.manifest_sha256 != other.manifest_sha256:
            raise RefusedError(f"suite {suite.name} v{suite.version}: manifest sha256 differs "
                               f"({suite.manifest_sha256[:12]} vs {other.manifest_sha256[:12]}); not the same bytes")
        if suite.taxonomy_sha256 != other.taxonomy_sha256:
            raise RefusedError(f"suite {suite.name} v{suite.version}: evaluation taxonomies differ")
        common.append(suite.name)
    for name in sorted(set(base_suites) - {s.name for s in candidate.suites}):
        notes.append(f"suite {name}: only in the baseline results; not compared")
    if not common:
        raise RefusedError("the candidate and the baseline share no suite; nothing to compare")
    return common, notes


def side_provenance(results: ResultsFolder) -> SideProvenance:
    record = results.record
    return SideProvenance(
        results_path=str(results.path), results_index_sha256=results.index_sha256, created_at=record.created_at,
        model=record.model, suites=record.suites, backends=record.backends, libraries=record.libraries,
        machine=record.machine, git_commit=record.git_commit,
    )


def _ratios(backend: str, cand: LatencyStats, base: LatencyStats, rows: list[MetricComparison]) -> LatencyRatios:
    """Candidate/baseline latency ratios of one backend: appended to `rows`, returned for the report."""
    ratios = LatencyRatios(
        candidate_p50_ms=cand.p50_ms, baseline_p50_ms=base.p50_ms, candidate_p99_ms=cand.p99_ms,
        baseline_p99_ms=base.p99_ms, latency_p50_ratio=cand.p50_ms / base.p50_ms,
        latency_p99_ratio=cand.p99_ms / base.p99_ms,
    )
    rows.extend(MetricComparison(metric=m, backend=backend, candidate=getattr(ratios, m), baseline=1.0)
                for m in ("latency_p50_ratio", "latency_p99_ratio"))
    return ratios


def _device_latency(candidate: RunRecord, baseline: RunRecord, suites: list[str], info: VerdictLatency,
                    rows: list[MetricComparison]) -> None:
    """Latency that device pipelines reported (`--external`): shown for the candidate, a ratio when both sides have it."""
    for b in candidate.backends:
        if not is_external_backend(b.name) or not b.ok:
            continue
        cand = reported_latency(b, suites)
        other = next((o for o in baseline.backends if o.name == b.name and o.ok), None)
        base = reported_latency(other, suites) if other else None
        if cand and base:
            info.backends[b.name] = _ratios(b.name, cand, base, rows).model_copy(
                update={"reported_by": "device pipeline"})
        elif cand:
            info.backends[b.name] = LatencyRatios(candidate_p50_ms=cand.p50_ms, candidate_p99_ms=cand.p99_ms,
                                                  reported_by="device pipeline (candidate only)")


def latency_rows(candidate: ResultsFolder, baseline: ResultsFolder, suites: list[str], interleaved: bool,
                 log: Callable[[str], None]) -> tuple[list[MetricComparison], VerdictLatency]:
    """p50/p99 latency ratios per backend; timed interleaved (A B A B) in this process when both models are here."""
    rows: list[MetricComparison] = []
    info = VerdictLatency()
    base_ok = set(baseline.record.backends_ok())
    both_ok = [name for name in candidate.record.backends_ok() if name in base_ok]
    _device_latency(candidate.record, baseline.record, suites, info, rows)
    both_ok = [name for name in both_ok if not is_external_backend(name)]  # timed by their pipelines, not here
    cand_model, base_model = Path(candidate.record.model.path), Path(baseline.record.model.path)
    can_interleave = interleaved and cand_model.is_dir() and base_model.is_dir()
    if can_interleave:
        from gate.backends import create_backend
        from gate.backends.latency import measure_latency_interleaved
        from gate.backends.parity import probe_images
        from gate.suites import open_suite

        settings = candidate.record.config.latency
        first = candidate.record.suite(suites[0])
        suite = open_suite(first.folder or first.name)
        images = probe_images(suite, settings.images)
        info.measured = f"interleaved A/B in one process on {len(images)} images of suite {suite.name}"
        for name in both_ok:
            log(f"latency [{name}]: candidate and baseline timed interleaved")
            with create_backend(name, cand_model) as a, create_backend(name, base_model) as b:
                timing = measure_latency_interleaved(a, b, images, warmup=settings.warmup, runs=settings.runs)
            info.backends[name] = _ratios(name, timing.a.total, timing.b.total, rows)
    else:
        info.measured = "separately, in each side's own run (not interleaved: ratios are noisier)"
        stored_cand, stored_base = candidate.latency().backends, baseline.latency().backends
        for name in both_ok:
            a, b = stored_cand.get(name), stored_base.get(name)
            if a is None or b is None:
                rows.extend(MetricComparison(metric=m, backend=name, status="not_run",
                                             status_reason="latency not measured on both sides")
                            for m in ("latency_p50_ratio", "latency_p99_ratio"))
                continue
            info.backends[name] = _ratios(name, a.total, b.total, rows)
    for b in candidate.record.backends:
        if not b.ok:
            rows.extend(MetricComparison(metric=m, backend=b.name, status="not_run", status_reason=b.summary)
                        for m in ("latency_p50_ratio", "latency_p99_ratio"))
    return rows, info


def compare_results(
    candidate: str | Path,
    baseline: str | Path,
    *,
    policy_path: str | Path | None = None,
    baselines_dir: str | Path | None = None,
    latency: bool = True,
    log: Callable[[str], None] = lambda _msg: None,
) -> GateVerdict:
    """The verdict of a candidate results folder against a baseline (folder or line name)."""
    cand_dir = resolve_results(candidate, baselines_dir)
    base_dir = resolve_results(baseline, baselines_dir)
    policy, policy_sha = load_policy(policy_path)
    cand, base = ResultsFolder.open(cand_dir), ResultsFolder.open(base_dir)
    cand_record, base_record = cand.record, base.record
    suites, notes = check_compatible(cand_record, base_record)

    log(f"comparing {cand_record.model.name} with {base_record.model.name} on {len(suites)} suite(s)")
    rows = accuracy_rows(policy, suites, cand, base)
    rows += consistency_rows(suites, cand, base)
    rows += robustness_rows(suites, cand_record, base_record)
    seq_rows, sequences = sequence_rows(policy, suites, cand, base, policy_path)
    rows += seq_rows
    lat_rows, latency_info = latency_rows(cand, base, suites, latency, log)
    rows += lat_rows
    notes.extend(b.summary for b in cand_record.backends if not b.ok)

    check_rule_scopes(policy, rows, policy_path or default_policy_path())  # a rule that can never apply is an error
    outcomes = apply_policy(policy, rows)
    preprocessing = compare_preprocessing(cand, base)
    if preprocessing.changed:
        log("preprocessing changed: " + "; ".join(preprocessing.changes))
    counts = Counter(o.outcome for o in outcomes)
    return GateVerdict(
        outcome=overall_outcome(outcomes),
        created_at=output_timestamp(cand_record.created_at, base_record.created_at),  # never the clock
        policy=PolicyProvenance(name=policy.name, path=str(policy_path or default_policy_path()), sha256=policy_sha),
        candidate=side_provenance(cand),
        baseline=side_provenance(base),
        suites=suites,
        bootstrap=BootstrapSettings(resamples=policy.defaults.resamples, confidence=policy.defaults.confidence,
                                    seed=policy.defaults.seed, min_support=policy.defaults.min_support),
        multiplicity=family_summary(policy, outcomes),
        preprocessing=preprocessing,
        latency=latency_info,
        counts={k: counts.get(k, 0) for k in ("pass", "warn", "fail", "cannot_detect", "insufficient_support", "not_run")},
        outcomes=outcomes,
        comparisons=rows,
        notes=notes,
        sequences=sequences,
    )
