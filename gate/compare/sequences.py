"""Sequence rows: the drive metrics of both sides on every drive suite, for the policy and the report.

For each compared suite whose manifest holds a drive table and each backend a sequence rule looks
at, both sides' stored per-frame detections are associated with the suite's sign tracks
(`gate.eval.sequence`), and every sequence metric becomes a `MetricComparison` with a CI from the
paired bootstrap over whole drives. The drives where the candidate parts most from the baseline are
kept as timelines for the report.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gate.errors import GateError, InputError
from gate.policy import GATE_METRICS, MetricComparison, Policy
from gate.policy.evaluate import selector_matches
from gate.results.opened import ResultsFolder
from gate.results.record import RunRecord
from gate.results.sequences import DriveTimeline, SequenceSummary, TrackMark

WORST_DRIVES = 4
_GLOB = set("*?[")


def sequence_rule_backends(policy: Policy, available: list[str]) -> list[str]:
    return [name for name in available
            if any(GATE_METRICS[r.metric].kind == "sequence" and selector_matches(r.scope.backends, name, False)
                   for r in policy.rules)]


def _manifest(record: RunRecord, suite: str):
    from gate.storage import sha256_file
    from gate.suites.catalog import find_suite
    from gate.suites.manifest import MANIFEST_FILE, load_manifest

    provenance = record.suite(suite)
    folder = Path(provenance.folder) if provenance.folder else None
    if folder is None or not (folder / MANIFEST_FILE).is_file() or \
            sha256_file(folder / MANIFEST_FILE) != provenance.manifest_sha256:
        folder = find_suite(suite, provenance.version)
    path = folder / MANIFEST_FILE
    if sha256_file(path) != provenance.manifest_sha256:
        raise InputError(f"suite {suite} v{provenance.version}: this manifest is not the one the results were "
                         "computed on (sha256 differs)", path=path)
    return load_manifest(path), path


def check_sequence_scopes(policy: Policy, policy_path: str | Path | None, suites: list[str], has_tracks: dict[str, bool],
                          manifests: dict[str, Path]) -> None:
    """A sequence rule that names a compared suite without drive tracks is bad input, not a silent skip."""
    for rule in policy.rules:
        if GATE_METRICS[rule.metric].kind != "sequence" or rule.scope.suites == "all":
            continue
        for pattern in rule.scope.suites:
            if _GLOB & set(pattern) or pattern not in suites or has_tracks.get(pattern):
                continue
            raise InputError(f"rule {rule.id} asks for sequence metric {rule.metric} on suite {pattern}, which has no "
                             "drive tracks (not a `kind: sequence` suite)", path=manifests.get(pattern, policy_path))


def frame_truth(manifest) -> dict:
    """Ground-truth boxes of every frame of a sequence manifest, with track ids and distances."""
    from gate.eval.sequence import FrameTruth

    out = {}
    for entry in manifest.images:
        anns = entry.annotations
        out[entry.id] = FrameTruth(
            track_ids=np.array([int(a.attributes["track_id"]) for a in anns], np.int64),
            categories=np.array([a.category_id for a in anns], np.int64),
            boxes=np.array([[a.bbox[0], a.bbox[1], a.bbox[0] + a.bbox[2], a.bbox[1] + a.bbox[3]] for a in anns],
                           np.float64).reshape(-1, 4),
            distances=np.array([float(a.attributes.get("distance_m", 0.0)) for a in anns], np.float64),
        )
    return out


def side_detections(side: ResultsFolder, suite: str, backend: str, manifest):
    """Detections of one side at its operating threshold, keyed by image id, in evaluation categories."""
    from gate.eval.sequence import FrameDetections
    from gate.run.detections_store import load_detections

    record, folder = side.record, side.path
    entry = record.entry(suite, backend)
    names = record.model.class_names
    table = {i: manifest.taxonomy.model_category_id(name) for i, name in enumerate(names)}
    threshold = record.model.score_threshold
    out = {}
    for det in load_detections(folder / entry.predictions_file):
        keep = [j for j in range(len(det.scores)) if det.scores[j] >= threshold and table.get(int(det.labels[j])) is not None]
        out[det.image_id] = FrameDetections(
            boxes=np.asarray(det.boxes[keep], np.float64).reshape(-1, 4),
            categories=np.array([table[int(det.labels[j])] for j in keep], np.int64),
            scores=np.asarray(det.scores[keep], np.float64),
        )
    return out


def evaluate_side(side: ResultsFolder, suite: str, backend: str, manifest, truth, rule):
    from gate.eval.sequence import evaluate_sequences

    names = {c.id: c.name for c in manifest.taxonomy.coco_categories()}
    return evaluate_sequences(manifest.sequence, truth, side_detections(side, suite, backend, manifest),
                              names, rule)


def timelines(candidate, baseline, count: int = WORST_DRIVES) -> list[DriveTimeline]:
    """The drives where the candidate parts most from the baseline (wrong frames, lost or later confirmations)."""
    out = []
    for cd, bd in zip(candidate.drives, baseline.drives, strict=True):
        parted = [f for f, (t, c, b) in enumerate(zip(cd.limit_truth, cd.limit_reading, bd.limit_reading, strict=True))
                  if t != -1 and c != t and b == t]
        marks, delay = [], 0.0
        for ct, bt in zip(cd.tracks, bd.tracks, strict=True):
            marks.append(TrackMark(class_name=ct.class_name, first_frame=ct.first_frame, last_frame=ct.last_frame,
                                   candidate_confirmed=ct.confirmed_frame, baseline_confirmed=bt.confirmed_frame,
                                   scored=ct.passed and not ct.ignore))
            if ct.passed and not ct.ignore:
                c_frame = ct.confirmed_frame if ct.confirmed_frame is not None else ct.last_frame + 1
                b_frame = bt.confirmed_frame if bt.confirmed_frame is not None else bt.last_frame + 1
                delay += c_frame - b_frame
        wrong_c = sum(1 for t, c in zip(cd.limit_truth, cd.limit_reading, strict=True) if t != -1 and c != t)
        wrong_b = sum(1 for t, b in zip(bd.limit_truth, bd.limit_reading, strict=True) if t != -1 and b != t)
        out.append(DriveTimeline(drive=cd.id, fps=cd.fps, image_ids=cd.image_ids, truth=cd.limit_truth,
                                 candidate=cd.limit_reading, baseline=bd.limit_reading, parted=parted, tracks=marks,
                                 score=float(wrong_c - wrong_b + delay)))
    out.sort(key=lambda t: (-t.score, t.drive))
    return out[:count]


def sequence_rows(policy: Policy, suites: list[str], cand_side: ResultsFolder, base_side: ResultsFolder,
                  policy_path: str | Path | None = None) -> tuple[list[MetricComparison], list[SequenceSummary]]:
    """Sequence metric rows of every drive suite and backend in some sequence rule's scope, and report summaries."""
    from gate.eval.sequence import ConfirmationRule, paired_sequence_bootstrap

    candidate, baseline = cand_side.record, base_side.record
    wanted = sequence_rule_backends(policy, [b.name for b in candidate.backends])
    if not wanted:
        return [], []
    defaults = policy.defaults
    settings = defaults.sequence
    rule = ConfirmationRule(k=settings.k, m=settings.m, iou=settings.iou)
    manifests, paths = {}, {}
    for suite in suites:
        try:
            manifests[suite], paths[suite] = _manifest(candidate, suite)
        except GateError:
            # A frame suite whose manifest is not on this machine: frame rows do not need it; a sequence
            # rule naming it is refused below.
            manifests[suite] = None
    check_sequence_scopes(policy, policy_path, suites,
                          {s: m is not None and m.sequence is not None for s, m in manifests.items()}, paths)
    rows: list[MetricComparison] = []
    summaries: list[SequenceSummary] = []
    for suite in suites:
        manifest = manifests[suite]
        if manifest is None or manifest.sequence is None:
            continue
        truth = frame_truth(manifest)
        for backend in wanted:
            entries = (candidate.entry(suite, backend), baseline.entry(suite, backend))
            if any(e is None or e.status != "ok" or not e.predictions_file for e in entries):
                rows.extend(MetricComparison(metric=m, suite=suite, backend=backend, status="not_run",
                                             status_reason=f"{backend} on {suite}: not run on both sides")
                            for m in GATE_METRICS if GATE_METRICS[m].kind == "sequence")
                continue
            cand = evaluate_side(cand_side, suite, backend, manifest, truth, rule)
            base = evaluate_side(base_side, suite, backend, manifest, truth, rule)
            for d in paired_sequence_bootstrap(cand, base, resamples=defaults.resamples, confidence=defaults.confidence,
                                               seed=defaults.seed, min_support=defaults.min_support):
                rows.append(MetricComparison(
                    metric=d.metric, suite=suite, backend=backend, class_name=d.class_name,
                    candidate=d.value_candidate, baseline=d.value_baseline, delta=d.delta, ci_low=d.ci_low,
                    ci_high=d.ci_high, p_worse=d.p_worse, support=d.support,
                    status="not_run" if d.status == "undefined" else "ok",
                    status_reason="undefined: nothing of this kind in the drives" if d.status == "undefined" else "",
                ))
            table = manifest.sequence
            summaries.append(SequenceSummary(
                suite=suite, backend=backend, confirmation={"k": rule.k, "m": rule.m, "iou": rule.iou},
                drives=len(table.drives), tracks=table.tracks, length_km=round(table.length_m / 1000.0, 3),
                worst=timelines(cand, base) if backend == "torch" or backend == wanted[0] else [],
            ))
    return rows, summaries

