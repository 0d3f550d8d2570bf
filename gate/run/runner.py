"""Run one model through suites and backends into a sealed results folder.

Layout of a results folder (every file listed with its sha256 in results-index.json):

    run.json                                    RunRecord: provenance and an entry per suite x backend
    suites/<suite>/<backend>/detections.npz     the backend's detections (model labels, source pixels)
    suites/<suite>/<backend>/evaluation.json    EvaluationResult (+ evaluation.records.npz beside it)
    suites/<suite>/consistency.json             every backend against the reference form (torch, or an ONNX
                                                model's fp32 ONNX): disagreement, drift, AP delta
    parity.json                                 preprocessing-parity probe across backends
    latency.json                                batch-1 latency per backend on real suite images

A backend that cannot run here (TensorRT without CUDA) or fails is recorded with its reason; the
others still run. Predictions come from an executor (`gate.run.executors`): this process by default, or
Ray workers; evaluation, consistency and parity always run here on the gathered detections, and latency
is always measured here, after the executor has released its workers. A Ray shard that keeps failing
fails the whole run (ShardFailedError), since a results folder would otherwise hold a smaller suite.
The folder is built under a temporary name and renamed into place at the end, so an interrupted run
leaves no results folder that `compare` could mistake for a complete one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.stages import stage, timed
from gate.backends.detections import Detections, detections_to_coco_results
from gate.errors import GateError, InputError
from gate.provenance import git_commit, library_versions, machine_info, utc_now
from gate.results import seal_results_folder
from gate.results.backend import REFERENCE_BACKEND, BackendStatus
from gate.results.config import GateConfig
from gate.results.consistency import ApDelta, ConsistencyFigures, ConsistencyFile
from gate.results.latency import LATENCY_FILE, LatencyFile
from gate.results.parity import PARITY_FILE
from gate.run.detections_store import PredictionCache, prediction_cache_key, save_detections
from gate.run.executors import InProcessExecutor, PredictionExecutor, PredictionJob, ShardFailedError
from gate.results.record import RUN_FILE, ModelProvenance, RunEntry, RunRecord, SuiteProvenance
from gate.storage import canonical_json, sha256_bytes, sha256_file, staged_dir
from gate.suites.resolved import category_table

SUMMARY_METRICS = ("ap", "ap50", "ap75", "ar100")


def suite_provenance(suite) -> SuiteProvenance:
    manifest = suite.manifest
    return SuiteProvenance(
        name=suite.name, version=suite.version, manifest_sha256=suite.manifest_sha256,
        spec_sha256=manifest.spec_sha256,
        taxonomy_sha256=sha256_bytes(canonical_json(manifest.taxonomy.model_dump(mode="json"))),
        images=len(suite.coco.images), boxes=sum(1 for a in suite.coco.annotations if not a.iscrowd),
        transforms=[f"{t.name}@{t.severity}" for t in manifest.transforms],
        source=str(manifest.source.synth or manifest.source.dataset or ""),
        folder=str(suite.manifest_path.parent),
    )


def model_provenance(model_dir: Path) -> tuple[Any, ModelProvenance]:
    from gate.cards.card import card_path, load_card

    card = load_card(model_dir, verify_weights=True)
    return card, ModelProvenance(
        name=card.name, version=str(card.version), path=str(model_dir), card_sha256=sha256_file(card_path(model_dir)),
        weights_sha256=card.weights.sha256, class_names=list(card.class_names),
        score_threshold=card.postprocessing.operating_threshold,
        architecture=f"{card.architecture.family}/{card.architecture.size or 'ingested'}",
        preprocessing=card.preprocessing.model_dump(mode="json"),
    )


def write_suite_detections(folder: Path, suite, dets: Sequence[Detections], model: ModelProvenance):
    """Store one backend's detections on one suite and evaluate them there (detections, evaluation, records)."""
    from gate.eval import evaluate_with_records

    save_detections(folder / "detections.npz", dets)
    results = detections_to_coco_results(dets, category_table(suite, model.class_names), skip_unmapped=True)
    evaluation, match_records = evaluate_with_records(suite.coco, results, score_threshold=model.score_threshold)
    evaluation.save(folder / "evaluation.json", records=match_records)
    return evaluation, match_records


@dataclass
class _Run:
    """What one run knows while it works: its inputs, and what each step has added so far."""

    model_dir: Path
    config: GateConfig
    card: Any
    model: ModelProvenance
    suites: list
    staging: Path
    executor: PredictionExecutor
    prediction_cache: PredictionCache
    libraries: dict[str, str]
    progress: bool
    log: Callable[[str], None]
    entries: list[RunEntry] = field(default_factory=list)
    backends: list[BackendStatus] = field(default_factory=list)
    loaded: dict[str, Any] = field(default_factory=dict)
    detections: dict[tuple[str, str], list[Detections]] = field(default_factory=dict)
    records: dict[tuple[str, str], Any] = field(default_factory=dict)

    @property
    def reference_form(self) -> str:
        """The form every other form is compared with: torch, or the fp32 ONNX of a model without a PyTorch form."""
        return self.card.architecture.reference

    def not_run(self, name: str, status: str, reason: str) -> None:
        """Record a backend that did not run (unavailable here, or failed to load) on every suite."""
        self.backends.append(BackendStatus(name=name, status=status, reason=reason))
        self.entries.extend(RunEntry(suite=s.name, backend=name, status=status, reason=reason) for s in self.suites)


def _open_inputs(model_dir: Path, config: GateConfig, cache, suites_dir, data, log):
    """The model's card and provenance and the opened suites; bad names fail here, before any work."""
    from gate.backends import backend_class
    from gate.suites import open_suite

    if len(set(config.backends)) != len(config.backends):
        raise InputError(f"backends listed twice: {config.backends}")
    card, model = model_provenance(model_dir)
    # The reference form: torch for a model with a PyTorch form, else its fp32 ONNX (the card says which).
    reference_form = card.architecture.reference
    if reference_form not in config.backends and len(config.backends) > 1:
        log(f"note: consistency needs the {reference_form} reference backend; it is not in {config.backends}")
    for name in config.backends:
        backend_class(name)  # unknown backend names fail before any work
    suites = [open_suite(name, cache=cache, suites=suites_dir, data=data) for name in config.suites]
    if len({s.name for s in suites}) != len(suites):
        raise InputError(f"suites listed twice: {config.suites}")
    return card, model, suites


def _load_backend(run: _Run, name: str, closing: contextlib.ExitStack):
    """The loaded backend, or None after recording why it cannot run (unavailable here, or failed to load)."""
    from gate.backends import backend_class, create_backend

    reason = backend_class(name).unavailable_reason()
    if reason is None and name == "torch" and run.card.architecture.format != "safetensors":
        reason = (f"the model has no PyTorch form ({run.card.architecture.format}); "
                  f"its reference form is {run.reference_form}")
    if reason is not None:
        run.log(f"{name}: unavailable ({reason})")
        run.not_run(name, "unavailable", reason)
        return None
    try:
        backend = create_backend(name, run.model_dir, card=run.card, threads=run.config.threads,
                                 max_batch=run.config.batch_size, **export_options(name, run.config))
        backend.load()
        closing.callback(backend.close)
        description = backend.describe()
    except GateError as exc:
        run.log(f"{name}: failed to load ({exc})")
        run.not_run(name, "failed", str(exc))
        return None
    run.loaded[name] = backend
    run.backends.append(BackendStatus(name=name, status="ok", description=description))
    return backend


def _run_suite(run: _Run, name: str, backend, suite) -> None:
    """One backend on one suite: predictions (cached or from the executor), stored and evaluated."""
    model, description = run.model, run.backends[-1].description
    folder = run.staging / "suites" / suite.name / name
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    key = prediction_cache_key(
        weights_sha256=model.weights_sha256, card_sha256=model.card_sha256, manifest_sha256=suite.manifest_sha256,
        backend=name, export_settings=description.details.get("export_settings"), libraries=run.libraries,
    )
    try:
        dets = run.prediction_cache.get(key)
        from_cache = dets is not None
        if dets is None:
            job = PredictionJob(
                backend=backend, suite=suite, batch_size=run.config.batch_size, model_dir=run.model_dir,
                card_sha256=model.card_sha256, weights_sha256=model.weights_sha256,
                model_file_sha256=description.model_sha256,
            )
            with stage(f"predict {name}"):
                dets = run.executor.predict(job, run.progress)
            run.prediction_cache.put(key, dets)
        with stage("evaluate"):
            evaluation, match_records = write_suite_detections(folder, suite, dets, model)
    except ShardFailedError:
        raise  # an infrastructure failure, not a property of this backend: no results folder
    except GateError as exc:
        run.log(f"{suite.name} [{name}]: failed ({exc})")
        run.entries.append(RunEntry(suite=suite.name, backend=name, status="failed", reason=str(exc)))
        return
    run.detections[(suite.name, name)] = dets
    run.records[(suite.name, name)] = match_records
    summary = {m: evaluation.summary.get(m) for m in SUMMARY_METRICS}
    run.entries.append(RunEntry(
        suite=suite.name, backend=name, status="ok",
        predictions_file=f"suites/{suite.name}/{name}/detections.npz",
        evaluation_file=f"suites/{suite.name}/{name}/evaluation.json",
        records_file=f"suites/{suite.name}/{name}/evaluation.records.npz",
        predictions_from_cache=from_cache, images=len(dets),
        seconds=round(time.perf_counter() - started, 3), summary=summary,
    ))
    run.log(f"{suite.name} [{name}]: AP {summary['ap']:.3f}  AP50 {summary['ap50']:.3f}"
            f"{'  (cached predictions)' if from_cache else ''}")


def _record_external(run: _Run, source) -> None:
    """A device folder's detections (`--external`) evaluated into the results folder like any backend's."""
    from gate.run.external import folder_name

    backend = source.backend
    run.backends.append(BackendStatus(name=backend, status="ok", description=source.describe()))
    for suite in run.suites:
        external = source.suites.get(suite.name)
        if external is None:
            reason = f"{source.folder} has no detections for suite {suite.name}"
            run.entries.append(RunEntry(suite=suite.name, backend=backend, status="unavailable", reason=reason))
            run.log(f"{suite.name} [{backend}]: unavailable ({reason})")
            continue
        rel = f"suites/{suite.name}/{folder_name(backend)}"
        (run.staging / rel).mkdir(parents=True, exist_ok=True)
        evaluation, match_records = write_suite_detections(run.staging / rel, suite, external.detections, run.model)
        run.detections[(suite.name, backend)] = external.detections
        run.records[(suite.name, backend)] = match_records
        summary = {m: evaluation.summary.get(m) for m in SUMMARY_METRICS}
        run.entries.append(RunEntry(
            suite=suite.name, backend=backend, status="ok", predictions_file=f"{rel}/detections.npz",
            evaluation_file=f"{rel}/evaluation.json", records_file=f"{rel}/evaluation.records.npz",
            images=len(external.detections), summary=summary))
        run.log(f"{suite.name} [{backend}]: AP {summary['ap']:.3f}  AP50 {summary['ap50']:.3f}  (imported from "
                f"{external.results_path})")


@timed("parity")
def _write_parity(run: _Run) -> str:
    """The preprocessing-parity probe over every loaded backend, against the reference form when it loaded."""
    from gate.backends.parity import check_preprocessing_parity, probe_images

    probe = probe_images(run.suites[0], run.config.probe_images)
    reference = run.reference_form if run.reference_form in run.loaded else next(iter(run.loaded))
    check_preprocessing_parity(list(run.loaded.values()), probe, reference=reference).save(run.staging / PARITY_FILE)
    return PARITY_FILE


@timed("run latency")
def _write_latency(run: _Run) -> str:
    """Batch-1 latency of every loaded backend, measured here on real images of the first suite."""
    from gate.backends.latency import measure_latency
    from gate.backends.parity import probe_images

    settings = run.config.latency
    images = probe_images(run.suites[0], settings.images)
    latency = LatencyFile()
    for name, backend in run.loaded.items():
        run.log(f"latency [{name}]: {settings.warmup} warm-up + {settings.runs} timed runs")
        latency.backends[name] = measure_latency(backend, images, warmup=settings.warmup, runs=settings.runs)
    latency.save(run.staging / LATENCY_FILE)
    return LATENCY_FILE


def run_model(
    model_dir: str | Path,
    config: GateConfig,
    out: str | Path,
    *,
    force: bool = False,
    cache: str | Path | None = None,
    suites_dir: str | Path | None = None,
    data: str | Path | None = None,
    progress: bool = True,
    log: Callable[[str], None] = lambda _msg: None,
    executor: PredictionExecutor | None = None,
    external: Sequence[tuple[str, str | Path]] = (),
) -> RunRecord:
    """Evaluate a model folder on suites and backends; returns the record written to `out/run.json`.

    `executor` computes the predictions (default: in this process); the run closes it before latency.
    `external` names device folders (NAME, DIR) whose detections are recorded as backend `device:NAME`
    (gate.run.external); they are read and validated before anything is written.
    """
    from gate.locations import cache_root
    from gate.run.external import load_external

    model_dir = Path(model_dir)
    card, model, suites = _open_inputs(model_dir, config, cache, suites_dir, data, log)
    sources = [load_external(name, folder, suites, model.class_names) for name, folder in external]
    taken = set(config.backends)
    for source in sources:
        if source.backend in taken:
            raise InputError(f"--external {source.name}: backend {source.backend} is given twice")
        taken.add(source.backend)
    executor = executor if executor is not None else InProcessExecutor()
    with staged_dir(out, force) as staging, contextlib.ExitStack() as closing:
        closing.callback(executor.close)
        run = _Run(model_dir=model_dir, config=config, card=card, model=model, suites=suites, staging=staging,
                   executor=executor, prediction_cache=PredictionCache(cache_root(cache)),
                   libraries=library_versions(), progress=progress, log=log)
        for name in config.backends:
            backend = _load_backend(run, name, closing)
            for suite in suites if backend is not None else []:
                _run_suite(run, name, backend, suite)

        for source in sources:
            _record_external(run, source)

        # Our Ray workers (if any) are released before anything is timed on this machine.
        executor.close()
        consistency_files = _write_consistency(staging, suites, config, run.detections, run.records,
                                               card.postprocessing.operating_threshold, run.reference_form)
        measured = bool(run.loaded and suites)
        parity_file = _write_parity(run) if measured else None
        latency_file = _write_latency(run) if measured and config.latency.enabled else None
        record = RunRecord(
            created_at=utc_now(), model=model, suites=[suite_provenance(s) for s in suites],
            backends=run.backends, entries=run.entries, consistency_files=consistency_files,
            parity_file=parity_file, latency_file=latency_file, libraries=run.libraries, machine=machine_info(),
            git_commit=git_commit(), config=config, executor=executor.record(),
        )
        record.save(staging / RUN_FILE)
        seal_results_folder(staging, kind="run", header={"model": model.name, "weights_sha256": model.weights_sha256})
    return record


def export_options(backend: str, config: GateConfig) -> dict[str, Any]:
    """The backend's export settings from the gate config (none = the export defaults)."""
    settings = config.exports.get(backend)
    return {} if settings is None else {"export_settings": settings}


@timed("consistency")
def _write_consistency(staging: Path, suites, config: GateConfig, detections, records, threshold,
                       reference_form: str = REFERENCE_BACKEND) -> dict[str, str]:
    """Every backend against the reference form on each suite: detection-level agreement and AP delta."""
    from gate.backends.consistency import compare_detections
    from gate.eval import paired_bootstrap

    files: dict[str, str] = {}
    for suite in suites:
        reference = detections.get((suite.name, reference_form))
        if reference is None:
            continue
        per_backend = {}
        for (suite_name, name), dets in sorted(detections.items()):
            if suite_name != suite.name or name == reference_form:
                continue
            consistency = compare_detections(reference, dets, backend=name, score_threshold=threshold,
                                             iou_threshold=config.consistency_iou, reference_name=reference_form)
            comparison = paired_bootstrap(records[(suite.name, name)], records[(suite.name, reference_form)],
                                          candidate_threshold=threshold, resamples=500, seed=0, confusion=False)
            ap = comparison.find("ap")
            per_backend[name] = ConsistencyFigures(
                consistency=consistency,
                # Positive = AP lost by this deployment form relative to torch.
                ap_delta=None if ap is None or ap.delta is None else ApDelta(
                    loss=-ap.delta, ci_low=-ap.ci_high, ci_high=-ap.ci_low,
                    torch_ap=ap.value_baseline, backend_ap=ap.value_candidate,
                ),
            )
        if per_backend:
            rel = f"suites/{suite.name}/consistency.json"
            ConsistencyFile(reference=reference_form, backends=per_backend).save(staging / rel)
            files[suite.name] = rel
    return files
