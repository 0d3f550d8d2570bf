"""Compare a candidate's results with a baseline's under a policy and produce the verdict."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from gate.baselines import BaselineStore
from gate.baselines.store import CURRENT_FILE
from gate.compare.comparisons import accuracy_rows, consistency_rows, robustness_rows
from gate.compare.latency import latency_rows
from gate.compare.preprocessing import compare_preprocessing
from gate.compare.sequences import sequence_rows
from gate.errors import InputError, RefusedError
from gate.policy import MetricComparison, apply_policy, default_policy_path, load_policy
from gate.policy.evaluate import family_summary
from gate.policy.scopes import check_rule_scopes
from gate.provenance import output_timestamp
from gate.stages import stage
from gate.results.opened import ResultsFolder
from gate.results.record import RunRecord
from gate.results.verdict import (
    BootstrapSettings, GateVerdict, PolicyProvenance, SideProvenance, overall_outcome,
)


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


def compare_results(
    candidate: str | Path,
    baseline: str | Path,
    *,
    policy_path: str | Path | None = None,
    baselines_dir: str | Path | None = None,
    latency: bool = True,
    retime: bool = False,
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
    with stage("bootstrap"):
        rows = accuracy_rows(policy, suites, cand, base)
    rows += consistency_rows(suites, cand, base)
    rows += robustness_rows(suites, cand_record, base_record)
    with stage("bootstrap drives"):
        seq_rows, sequences = sequence_rows(policy, suites, cand, base, policy_path)
    rows += seq_rows
    with stage("latency"):
        lat_rows, latency_info = latency_rows(cand, base, suites, latency, log, policy.defaults, retime=retime)
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
