"""Run one model through suites and backends into a sealed results folder.

Layout of a results folder (every file listed with its sha256 in results-index.json):

    run.json                                    RunRecord: provenance and an entry per suite x backend
    suites/<suite>/<backend>/detections.npz     the backend's detections (model labels, source pixels)
    suites/<suite>/<backend>/evaluation.json    EvaluationResult (+ evaluation.records.npz beside it)
    suites/<suite>/consistency.json             every backend against torch: disagreement, drift, AP delta
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
from pathlib import Path
from typing import Any

from gate.backends.detections import Detections
from gate.errors import GateError, InputError
from gate.provenance import git_commit, library_versions, machine_info, utc_now
from gate.results import seal_results_folder
from gate.run.config import GateConfig
from gate.run.detections_store import PredictionCache, prediction_cache_key, save_detections
from gate.run.executors import InProcessExecutor, PredictionExecutor, PredictionJob, ShardFailedError
from gate.run.record import RUN_FILE, ModelProvenance, RunEntry, RunRecord, SuiteProvenance
from gate.storage import atomic_write_json, canonical_json, sha256_bytes, sha256_file, staged_dir

REFERENCE_BACKEND = "torch"
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
    from gate.models.card import card_path, load_card

    card = load_card(model_dir, verify_weights=True)
    return card, ModelProvenance(
        name=card.name, version=str(card.version), path=str(model_dir), card_sha256=sha256_file(card_path(model_dir)),
        weights_sha256=card.weights.sha256, class_names=list(card.class_names),
        score_threshold=card.postprocessing.operating_threshold,
        architecture=f"{card.architecture.family}/{card.architecture.size or 'ingested'}",
        preprocessing=card.preprocessing.model_dump(mode="json"),
    )


def category_table(suite, class_names: Sequence[str]) -> dict[int, int]:
    """Model label index -> the suite's evaluation category id (labels the taxonomy ignores are left out)."""
    table = suite.taxonomy.model_class_table(list(class_names))
    return {label: table[name] for label, name in enumerate(class_names) if table[name] is not None}


def detections_to_results(detections: Sequence[Detections], categories: dict[int, int]) -> list[dict[str, Any]]:
    results = []
    for det in detections:
        keep = [i for i, label in enumerate(det.labels.tolist()) if label in categories]
        for i in keep:
            x1, y1, x2, y2 = (float(v) for v in det.boxes[i])
            results.append({"image_id": det.image_id, "category_id": categories[int(det.labels[i])],
                            "bbox": [x1, y1, x2 - x1, y2 - y1], "score": float(det.scores[i])})
    return results


def write_suite_detections(folder: Path, suite, dets: Sequence[Detections], model: ModelProvenance):
    """Store one backend's detections on one suite and evaluate them there (detections, evaluation, records)."""
    from gate.eval import evaluate_with_records

    save_detections(folder / "detections.npz", dets)
    results = detections_to_results(dets, category_table(suite, model.class_names))
    evaluation, match_records = evaluate_with_records(suite.coco, results, score_threshold=model.score_threshold)
    evaluation.save(folder / "evaluation.json", records=match_records)
    return evaluation, match_records


def _probe_images(suite, count: int) -> list[tuple[int, Any]]:
    images = []
    for loaded in suite.iter_images():
        images.append((loaded.info.id, loaded.pixels))
        if len(images) == count:
            break
    return images


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
) -> RunRecord:
    """Evaluate a model folder on suites and backends; returns the record written to `out/run.json`.

    `executor` computes the predictions (default: in this process); the run closes it before latency.
    """
    from gate.backends import backend_class, create_backend
    from gate.backends.latency import measure_latency
    from gate.backends.parity import check_preprocessing_parity
    from gate.suites import open_suite
    from gate.suites.locations import cache_root

    model_dir = Path(model_dir)
    if len(set(config.backends)) != len(config.backends):
        raise InputError(f"backends listed twice: {config.backends}")
    if REFERENCE_BACKEND not in config.backends and len(config.backends) > 1:
        log(f"note: consistency needs the {REFERENCE_BACKEND} reference backend; it is not in {config.backends}")
    card, model = model_provenance(model_dir)
    for name in config.backends:
        backend_class(name)  # unknown backend names fail before any work
    suites = [open_suite(name, cache=cache, suites=suites_dir, data=data) for name in config.suites]
    if len({s.name for s in suites}) != len(suites):
        raise InputError(f"suites listed twice: {config.suites}")
    prediction_cache = PredictionCache(cache_root(cache))
    libraries = library_versions()
    threshold = card.postprocessing.operating_threshold
    executor = executor if executor is not None else InProcessExecutor()

    entries: list[RunEntry] = []
    backend_records: list[dict[str, Any]] = []
    loaded: dict[str, Any] = {}
    detections: dict[tuple[str, str], list[Detections]] = {}
    records: dict[tuple[str, str], Any] = {}

    with staged_dir(out, force) as staging, contextlib.ExitStack() as closing:
        closing.callback(executor.close)
        for name in config.backends:
            reason = backend_class(name).unavailable_reason()
            if reason is not None:
                log(f"{name}: unavailable ({reason})")
                backend_records.append({"name": name, "status": "unavailable", "reason": reason})
                entries.extend(RunEntry(suite=s.name, backend=name, status="unavailable", reason=reason) for s in suites)
                continue
            try:
                backend = create_backend(name, model_dir, card=card, threads=config.threads, max_batch=config.batch_size)
                backend.load()
                closing.callback(backend.close)
                description = backend.describe().model_dump(mode="json")
            except GateError as exc:
                log(f"{name}: failed to load ({exc})")
                backend_records.append({"name": name, "status": "failed", "reason": str(exc)})
                entries.extend(RunEntry(suite=s.name, backend=name, status="failed", reason=str(exc)) for s in suites)
                continue
            loaded[name] = backend
            backend_records.append({"name": name, "status": "ok", "reason": "", "description": description})
            export_settings = description.get("details", {}).get("export_settings")
            for suite in suites:
                folder = staging / "suites" / suite.name / name
                folder.mkdir(parents=True, exist_ok=True)
                started = time.perf_counter()
                key = prediction_cache_key(
                    weights_sha256=model.weights_sha256, card_sha256=model.card_sha256,
                    manifest_sha256=suite.manifest_sha256, backend=name, export_settings=export_settings,
                    libraries=libraries,
                )
                try:
                    dets = prediction_cache.get(key)
                    from_cache = dets is not None
                    if dets is None:
                        job = PredictionJob(
                            backend=backend, suite=suite, batch_size=config.batch_size, model_dir=model_dir,
                            card_sha256=model.card_sha256, weights_sha256=model.weights_sha256,
                            model_file_sha256=description.get("model_sha256"),
                        )
                        dets = executor.predict(job, progress)
                        prediction_cache.put(key, dets)
                    evaluation, match_records = write_suite_detections(folder, suite, dets, model)
                except ShardFailedError:
                    raise  # an infrastructure failure, not a property of this backend: no results folder
                except GateError as exc:
                    log(f"{suite.name} [{name}]: failed ({exc})")
                    entries.append(RunEntry(suite=suite.name, backend=name, status="failed", reason=str(exc)))
                    continue
                detections[(suite.name, name)] = dets
                records[(suite.name, name)] = match_records
                summary = {m: evaluation.summary.get(m) for m in SUMMARY_METRICS}
                entries.append(RunEntry(
                    suite=suite.name, backend=name, status="ok",
                    predictions_file=f"suites/{suite.name}/{name}/detections.npz",
                    evaluation_file=f"suites/{suite.name}/{name}/evaluation.json",
                    records_file=f"suites/{suite.name}/{name}/evaluation.records.npz",
                    predictions_from_cache=from_cache, images=len(dets),
                    seconds=round(time.perf_counter() - started, 3), summary=summary,
                ))
                log(f"{suite.name} [{name}]: AP {summary['ap']:.3f}  AP50 {summary['ap50']:.3f}"
                    f"{'  (cached predictions)' if from_cache else ''}")

        # Our Ray workers (if any) are released before anything is timed on this machine.
        executor.close()
        consistency_files = _write_consistency(staging, suites, config, detections, records, threshold)
        parity_file = latency_file = None
        if loaded and suites:
            probe = _probe_images(suites[0], config.probe_images)
            reference = REFERENCE_BACKEND if REFERENCE_BACKEND in loaded else next(iter(loaded))
            parity = check_preprocessing_parity(list(loaded.values()), probe, reference=reference)
            atomic_write_json(staging / "parity.json", parity.model_dump(mode="json"))
            parity_file = "parity.json"
            if config.latency.enabled:
                images = _probe_images(suites[0], config.latency.images)
                latency = {}
                for name, backend in loaded.items():
                    log(f"latency [{name}]: {config.latency.warmup} warm-up + {config.latency.runs} timed runs")
                    latency[name] = measure_latency(backend, images, warmup=config.latency.warmup,
                                                    runs=config.latency.runs).model_dump(mode="json")
                atomic_write_json(staging / "latency.json", {"measured_in": "process", "backends": latency})
                latency_file = "latency.json"

        record = RunRecord(
            created_at=utc_now(), model=model, suites=[suite_provenance(s) for s in suites],
            backends=backend_records, entries=entries, consistency_files=consistency_files,
            parity_file=parity_file, latency_file=latency_file, libraries=libraries, machine=machine_info(),
            git_commit=git_commit(), config=config.model_dump(mode="json"), executor=executor.record(),
        )
        atomic_write_json(staging / RUN_FILE, record.model_dump(mode="json"))
        seal_results_folder(staging, kind="run", header={"model": model.name, "weights_sha256": model.weights_sha256})
    return record


def _write_consistency(staging: Path, suites, config: GateConfig, detections, records, threshold) -> dict[str, str]:
    """Every backend against the torch reference on each suite: detection-level agreement and AP delta."""
    from gate.backends.consistency import compare_detections
    from gate.eval import paired_bootstrap

    files: dict[str, str] = {}
    for suite in suites:
        reference = detections.get((suite.name, REFERENCE_BACKEND))
        if reference is None:
            continue
        per_backend = {}
        for (suite_name, name), dets in sorted(detections.items()):
            if suite_name != suite.name or name == REFERENCE_BACKEND:
                continue
            consistency = compare_detections(reference, dets, backend=name, score_threshold=threshold,
                                             iou_threshold=config.consistency_iou)
            comparison = paired_bootstrap(records[(suite.name, name)], records[(suite.name, REFERENCE_BACKEND)],
                                          candidate_threshold=threshold, resamples=500, seed=0, confusion=False)
            ap = comparison.find("ap")
            per_backend[name] = {
                "consistency": consistency.model_dump(mode="json"),
                # Positive = AP lost by this deployment form relative to torch.
                "ap_delta": None if ap is None or ap.delta is None else {
                    "loss": -ap.delta, "ci_low": -ap.ci_high, "ci_high": -ap.ci_low,
                    "torch_ap": ap.value_baseline, "backend_ap": ap.value_candidate,
                },
            }
        if per_backend:
            rel = f"suites/{suite.name}/consistency.json"
            atomic_write_json(staging / rel, {"reference": REFERENCE_BACKEND, "backends": per_backend})
            files[suite.name] = rel
    return files
