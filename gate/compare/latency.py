"""Latency rows of a comparison: candidate/baseline p50 and p99 ratios per backend, as a statistic.

When both model folders are on this machine, the two models are timed interleaved (A B A B) in this
process and sampling stops as soon as the CI of the p50 ratio is within the policy's tolerance
(`gate.backends.latency.measure_latency_sequential`). A timing of the same two model files on the same
machine, images and settings is kept in the cache and reused (the verdict says so, with when it was
timed) unless `retime` asks for a new one: a re-run of an unchanged pull request does not re-time.
Otherwise the latencies each side's run stored are compared (noisier: not interleaved), and device
pipelines' own reported latencies are shown as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gate.policy import MetricComparison
from gate.policy.schema import PolicyDefaults
from gate.results.latency import InterleavedLatency, LatencyStats, StoredTiming
from gate.results.opened import ResultsFolder
from gate.results.record import RunRecord
from gate.results.verdict import LatencyRatios, VerdictLatency
from gate.run.external import is_external_backend, reported_latency

LATENCY_METRICS = ("latency_p50_ratio", "latency_p99_ratio")


def _ratios(backend: str, cand: LatencyStats, base: LatencyStats, rows: list[MetricComparison],
            timing: InterleavedLatency | None = None) -> LatencyRatios:
    """Candidate/baseline latency ratios of one backend: appended to `rows`, returned for the report.

    With a sequential timing the p50 row carries the ratio's CI, which the latency rules judge."""
    ratios = LatencyRatios(
        candidate_p50_ms=cand.p50_ms, baseline_p50_ms=base.p50_ms, candidate_p99_ms=cand.p99_ms,
        baseline_p99_ms=base.p99_ms, latency_p50_ratio=cand.p50_ms / base.p50_ms,
        latency_p99_ratio=cand.p99_ms / base.p99_ms,
    )
    if timing is not None and timing.ratio_p50_ci_low is not None:
        ratios = ratios.model_copy(update=dict(p50_ratio_ci_low=timing.ratio_p50_ci_low,
                                               p50_ratio_ci_high=timing.ratio_p50_ci_high, pairs=timing.pairs,
                                               stopped=timing.stopped))
    for metric in LATENCY_METRICS:
        interval = {}
        if metric == "latency_p50_ratio" and ratios.p50_ratio_ci_low is not None:
            interval = dict(ci_low=ratios.p50_ratio_ci_low, ci_high=ratios.p50_ratio_ci_high)
        rows.append(MetricComparison(metric=metric, backend=backend, candidate=getattr(ratios, metric), baseline=1.0,
                                     **interval))
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


def machine_fingerprint() -> str:
    """What makes two timings on 'the same machine': CPU model, cores and platform."""
    import platform

    from gate.machine import cpu_count, cpu_model

    return f"{cpu_model()} x{cpu_count()} {platform.system()} {platform.machine()}"


def timing_key(candidate: RunRecord, baseline: RunRecord, backend: str, image_ids: list[int],
               suite_manifest: str, settings: dict) -> str:
    """The hash of everything an interleaved timing depends on."""
    from gate import __version__
    from gate.storage import canonical_json, sha256_bytes

    facts = {
        "candidate": [candidate.model.weights_sha256, candidate.model.card_sha256],
        "baseline": [baseline.model.weights_sha256, baseline.model.card_sha256],
        "backend": backend, "threads": [candidate.config.threads, baseline.config.threads],
        "machine": machine_fingerprint(), "images": image_ids, "suite_manifest": suite_manifest,
        "settings": settings, "tsrgate": __version__,
    }
    return sha256_bytes(canonical_json(facts))


def timing_cache_dir() -> Path:
    from gate.locations import cache_root

    return cache_root() / "latency"


def _stored_timing(key: str) -> StoredTiming | None:
    from gate.errors import InputError

    path = timing_cache_dir() / f"{key}.json"
    if not path.is_file():
        return None
    try:
        stored = StoredTiming.load(path)
    except InputError:
        return None  # a damaged cache entry is re-timed (and overwritten), never trusted
    return stored if stored.key == key else None


def _age(timed_at: str) -> str:
    import datetime as dt

    try:
        seconds = (dt.datetime.now(dt.timezone.utc) - dt.datetime.fromisoformat(timed_at)).total_seconds()
    except ValueError:
        return "unknown age"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} old"
    return f"{seconds:.0f} s old"


def interleaved_rows(candidate: ResultsFolder, baseline: ResultsFolder, names: list[str], suites: list[str],
                     defaults: PolicyDefaults, retime: bool, info: VerdictLatency, rows: list[MetricComparison],
                     log: Callable[[str], None]) -> None:
    """Time (or reuse a timing of) both models interleaved, backend by backend."""
    from gate.backends.parity import probe_images
    from gate.provenance import utc_now
    from gate.suites import open_suite

    settings, stat = candidate.record.config.latency, defaults.latency
    first = candidate.record.suite(suites[0])
    suite = open_suite(first.folder or first.name)
    images = probe_images(suite, settings.images)
    ids = [int(i) for i, _ in images]
    knobs = {"warmup": settings.warmup, **stat.model_dump(mode="json"), "confidence": defaults.confidence,
             "seed": defaults.seed}
    reused = 0
    for name in names:
        key = timing_key(candidate.record, baseline.record, name, ids, suite.manifest_sha256, knobs)
        stored = None if retime else _stored_timing(key)
        was_reused = stored is not None
        if stored is not None:
            log(f"latency [{name}]: reusing the interleaved timing of {stored.timed_at} ({_age(stored.timed_at)}; "
                f"same model files, machine and settings; --retime to re-time)")
            reused += 1
        else:
            from gate.backends import create_backend
            from gate.backends.latency import measure_latency_sequential

            log(f"latency [{name}]: candidate and baseline timed interleaved until the p50 ratio is known to "
                f"+-{stat.tolerance:.0%} (at most {stat.max_pairs} pairs)")
            with create_backend(name, Path(candidate.record.model.path)) as a, \
                    create_backend(name, Path(baseline.record.model.path)) as b:
                timing = measure_latency_sequential(
                    a, b, images, warmup=settings.warmup, tolerance=stat.tolerance, confidence=defaults.confidence,
                    min_pairs=stat.min_pairs, max_pairs=stat.max_pairs, step=stat.step, resamples=stat.resamples,
                    seed=defaults.seed)
            stored = StoredTiming(key=key, timed_at=utc_now(), machine=machine_fingerprint(), timing=timing)
            stored.save(timing_cache_dir() / f"{key}.json")
        timing = stored.timing
        info.backends[name] = _ratios(name, timing.a.total, timing.b.total, rows, timing).model_copy(
            update={"machine": stored.machine, "timed_at": stored.timed_at, "reused": was_reused})
    info.measured = (f"interleaved A/B in one process on {len(images)} images of suite {suite.name}, "
                     f"sampled until the p50 ratio's {defaults.confidence:.0%} CI is within +-{stat.tolerance:.0%}"
                     + (f"; {reused} of {len(names)} timing(s) reused from the cache" if reused else ""))


def latency_rows(candidate: ResultsFolder, baseline: ResultsFolder, suites: list[str], interleaved: bool,
                 log: Callable[[str], None], defaults: PolicyDefaults | None = None,
                 retime: bool = False) -> tuple[list[MetricComparison], VerdictLatency]:
    """p50/p99 latency ratios per backend; timed interleaved (A B A B) in this process when both models are here."""
    defaults = defaults if defaults is not None else PolicyDefaults()
    rows: list[MetricComparison] = []
    info = VerdictLatency()
    base_ok = set(baseline.record.backends_ok())
    both_ok = [name for name in candidate.record.backends_ok() if name in base_ok]
    _device_latency(candidate.record, baseline.record, suites, info, rows)
    both_ok = [name for name in both_ok if not is_external_backend(name)]  # timed by their pipelines, not here
    cand_model, base_model = Path(candidate.record.model.path), Path(baseline.record.model.path)
    if interleaved and cand_model.is_dir() and base_model.is_dir() and both_ok:
        interleaved_rows(candidate, baseline, both_ok, suites, defaults, retime, info, rows, log)
    else:
        info.measured = "separately, in each side's own run (not interleaved: ratios are noisier)"
        stored_cand, stored_base = candidate.latency().backends, baseline.latency().backends
        for name in both_ok:
            a, b = stored_cand.get(name), stored_base.get(name)
            if a is None or b is None:
                rows.extend(MetricComparison(metric=m, backend=name, status="not_run",
                                             status_reason="latency not measured on both sides")
                            for m in LATENCY_METRICS)
                continue
            info.backends[name] = _ratios(name, a.total, b.total, rows)
    for b in candidate.record.backends:
        if not b.ok:
            rows.extend(MetricComparison(metric=m, backend=b.name, status="not_run", status_reason=b.summary)
                        for m in LATENCY_METRICS)
    return rows, info
