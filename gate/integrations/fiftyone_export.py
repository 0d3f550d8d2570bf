"""A candidate's results (and its baseline's) as a FiftyOne dataset folder, so failures open in the FiftyOne App.

The folder is in FiftyOne's documented `LegacyFiftyOneDataset` format (`metadata.json`,
`samples.json`, `data/`), which FiftyOne's importer reads sample by sample. One sample per suite
image (the image copied to `data/<suite>/`, checked against the suite manifest's pixel hash) with:

- `ground_truth`: the suite's evaluation labels (ignore regions carry `iscrowd: 1`, `ignore: true`);
- `candidate_<backend>` / `baseline_<backend>`: every detection of each side on each backend that
  ran, label = the suite's evaluation category (`evaluated: false` and the model's class name where
  the suite's taxonomy ignores the class), `confidence` = score; the operating thresholds are in
  the dataset info;
- sample tags from the comparison (torch, each model at its operating threshold, as in the report's
  gallery): `missed-vs-baseline`, `new-confusion`, `new-false-positive`, and `backend-disagreement`
  where a candidate backend's detections differ from torch's (the consistency matching: same
  class, IoU >= 0.9); the same tags sit on the ground-truth boxes and candidate detections concerned;
- `suite`, `image_id` and `disagreeing_backends` fields.

Samples with a failure tag come first, so the App opens on them. Boxes are FiftyOne's relative
[x, y, width, height]. The samples are written by tsrgate (deterministic bytes) and each one is
parsed by FiftyOne's own `Sample.from_dict` before the folder is published, so the `fiftyone` extra
is needed; no database is touched.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from gate.errors import InputError
from gate.integrations.extras import require_extra
from gate.results.backend import REFERENCE_BACKEND
from gate.storage import check_output_dir, dump_json, staged_dir

DATASET_TYPE = "fiftyone.types.LegacyFiftyOneDataset"
TAG_MISSED = "missed-vs-baseline"
TAG_CONFUSION = "new-confusion"
TAG_FALSE_POSITIVE = "new-false-positive"
TAG_DISAGREEMENT = "backend-disagreement"
FAILURE_TAGS = (TAG_MISSED, TAG_CONFUSION, TAG_FALSE_POSITIVE, TAG_DISAGREEMENT)
_KIND_TAGS = {"missed": TAG_MISSED, "new_confusion": TAG_CONFUSION, "new_false_positive": TAG_FALSE_POSITIVE}


class FiftyOneExport(BaseModel):
    """What an export wrote (also stored in the dataset info)."""

    out: str
    dataset_type: str = DATASET_TYPE
    samples: int
    suites: list[str]
    label_fields: list[str]
    tag_counts: dict[str, int]  # samples per failure tag
    baseline: str | None = None  # the baseline results folder, when tags were computed
    notes: list[str] = Field(default_factory=list)


def label_field(side: str, backend: str) -> str:
    """`candidate_torch`, `baseline_tensorrt_int8`: FiftyOne field names are identifiers."""
    return f"{side}_{backend.replace('-', '_')}"


def relative_box(x: float, y: float, w: float, h: float, width: int, height: int) -> list[float]:
    return [x / width, y / height, w / width, h / height]


def _gt_detections(annotations, names: dict[int, str], image) -> list[dict[str, Any]]:
    out = []
    for ann in annotations:
        out.append({
            "_cls": "Detection", "label": names[ann.category_id],
            "bounding_box": relative_box(*ann.bbox, image.width, image.height),
            "tags": [], "annotation_id": ann.id, "area": float(ann.area if ann.area is not None
                                                                 else ann.bbox[2] * ann.bbox[3]),
            "iscrowd": int(bool(ann.iscrowd) or ann.ignore), "ignore": bool(ann.ignore),
        })
    return out


def _pred_detections(dets, class_names: list[str], table: dict[str, int | None], names: dict[int, str],
                     image) -> list[dict[str, Any]]:
    out = []
    for box, score, label in zip(dets.boxes.tolist(), dets.scores.tolist(), dets.labels.tolist(), strict=True):
        x1, y1, x2, y2 = (float(v) for v in box)
        model_class = class_names[label]
        category = table.get(model_class)
        out.append({
            "_cls": "Detection", "label": names[category] if category is not None else model_class,
            "bounding_box": relative_box(x1, y1, x2 - x1, y2 - y1, image.width, image.height),
            "confidence": float(score), "tags": [], "model_class": model_class, "evaluated": category is not None,
        })
    return out


class _Side:
    """One results folder: its run record and detections per (suite, backend)."""

    def __init__(self, name: str, folder: Path):
        from gate.results.opened import ResultsFolder

        self.name, self.folder = name, folder
        self.results = ResultsFolder.open(folder, verify=True)
        self.record = self.results.record

    def backends(self, suite: str) -> list[str]:
        return [e.backend for e in self.record.entries if e.suite == suite and e.status == "ok"]

    def detections(self, suite: str, backend: str) -> dict[int, Any]:
        from gate.run.detections_store import load_detections

        entry = self.record.entry(suite, backend)
        return {d.image_id: d for d in load_detections(self.folder / entry.predictions_file)}

    def records(self, suite: str, backend: str = REFERENCE_BACKEND):
        return self.results.match_records(suite, backend)


def _same_detection(d: dict[str, Any], example, image) -> bool:
    if d["label"] != example.predicted_class or abs(d["confidence"] - example.score) > 1e-6:
        return False
    expected = relative_box(*example.predicted_bbox, image.width, image.height)
    return all(abs(a - b) < 1e-9 for a, b in zip(d["bounding_box"], expected, strict=True))


def _tag_regressions(samples: dict[int, dict], candidate: _Side, baseline: _Side, suite: str,
                     images: dict[int, Any]) -> None:
    from gate.eval import regression_examples

    cand_records, base_records = candidate.records(suite), baseline.records(suite)
    if cand_records is None or base_records is None:
        return
    examples = regression_examples(cand_records, base_records,
                                   candidate_threshold=candidate.record.model.score_threshold,
                                   baseline_threshold=baseline.record.model.score_threshold,
                                   limit=len(cand_records.det_score) + len(cand_records.gt_image) + 1)
    for example in examples:
        sample = samples[example.image_id]
        tag = _KIND_TAGS[example.kind]
        if tag not in sample["tags"]:
            sample["tags"].append(tag)
        if example.gt_annotation_id is not None:
            for d in sample["ground_truth"]["detections"]:
                if d["annotation_id"] == example.gt_annotation_id and tag not in d["tags"]:
                    d["tags"].append(tag)
        reference_field = label_field(candidate.name, REFERENCE_BACKEND)
        if example.predicted_bbox is not None and reference_field in sample:
            for d in sample[reference_field]["detections"]:
                if _same_detection(d, example, images[example.image_id]) and tag not in d["tags"]:
                    d["tags"].append(tag)


def _tag_disagreements(samples: dict[int, dict], candidate: _Side, suite: str,
                       detections: dict[str, dict[int, Any]]) -> None:
    from gate.backends.consistency import compare_detections

    if REFERENCE_BACKEND not in detections:
        return
    reference = list(detections[REFERENCE_BACKEND].values())
    for backend, dets in detections.items():
        if backend == REFERENCE_BACKEND:
            continue
        result = compare_detections(reference, list(dets.values()), backend=backend,
                                    score_threshold=candidate.record.model.score_threshold,
                                    worst_images=len(reference))
        for image in result.worst_images:
            sample = samples[image.image_id]
            sample["disagreeing_backends"].append(backend)
            if TAG_DISAGREEMENT not in sample["tags"]:
                sample["tags"].append(TAG_DISAGREEMENT)


def _suite_samples(suite_name: str, candidate: _Side, baseline: _Side | None, data_dir: Path, *,
                   cache, suites_dir, data) -> tuple[list[dict], list[str]]:
    from gate.report.gallery import SuiteImages

    images_src = SuiteImages(candidate.record.suite(suite_name), cache=cache, suites_dir=suites_dir, data=data)
    coco = images_src.manifest.to_coco()
    names = coco.category_names()
    taxonomy = images_src.manifest.taxonomy
    by_image = coco.annotations_by_image()
    images = {image.id: image for image in coco.images}
    samples: dict[int, dict] = {}
    (data_dir / suite_name).mkdir(parents=True, exist_ok=True)
    for image in coco.images:
        images_src.pixels(image.id)  # verified against the manifest, or a one-line error naming the file
        source = images_src.path(image.id)
        target = data_dir / suite_name / Path(image.file_name).name
        shutil.copyfile(source, target)
        samples[image.id] = {
            "filepath": f"data/{suite_name}/{target.name}", "tags": [],
            "metadata": {"_cls": "ImageMetadata", "width": image.width, "height": image.height,
                         "size_bytes": target.stat().st_size},
            "suite": suite_name, "image_id": image.id, "disagreeing_backends": [],
            "ground_truth": {"_cls": "Detections",
                             "detections": _gt_detections(by_image.get(image.id, []), names, image)},
        }
    fields = ["ground_truth"]
    candidate_dets: dict[str, dict[int, Any]] = {}
    for side in (candidate, baseline):
        if side is None:
            continue
        table = taxonomy.model_class_table(side.record.model.class_names)
        for backend in side.backends(suite_name):
            dets = side.detections(suite_name, backend)
            if side is candidate:
                candidate_dets[backend] = dets
            field = label_field(side.name, backend)
            fields.append(field)
            for image_id, sample in samples.items():
                found = dets.get(image_id)
                sample[field] = {"_cls": "Detections", "detections": [] if found is None else _pred_detections(
                    found, side.record.model.class_names, table, names, images[image_id])}
    if baseline is not None:
        _tag_regressions(samples, candidate, baseline, suite_name, images)
    _tag_disagreements(samples, candidate, suite_name, candidate_dets)
    for sample in samples.values():
        sample["tags"].sort(key=FAILURE_TAGS.index)
    return list(samples.values()), fields


def _resolve_sides(results: Path, baseline: str | Path | None, baselines_dir) -> tuple[Path, Path | None]:
    """RESULTS is a verdict (file or `compare --out` folder) or a run results folder (+ optional --baseline)."""
    from gate.compare import load_verdict
    from gate.compare.compare import resolve_results
    from gate.results import RESULTS_INDEX
    from gate.results.verdict import VERDICT_FILE

    verdict_file = results / VERDICT_FILE if results.is_dir() else results
    if results.is_dir() and (results / RESULTS_INDEX).is_file():
        return results, resolve_results(baseline, baselines_dir) if baseline is not None else None
    if not verdict_file.is_file():
        raise InputError(f"neither a results folder (no {RESULTS_INDEX}) nor a verdict (no {VERDICT_FILE})",
                         path=results)
    if baseline is not None:
        raise InputError("a verdict names its baseline; --baseline is for a results folder", path=results)
    verdict = load_verdict(verdict_file)
    return Path(verdict.candidate.results_path), Path(verdict.baseline.results_path)


def export_fiftyone(results: str | Path, out: str | Path, *, baseline: str | Path | None = None,
                    suites: list[str] | None = None, force: bool = False, cache: str | Path | None = None,
                    suites_dir: str | Path | None = None, data: str | Path | None = None,
                    baselines_dir: str | Path | None = None) -> FiftyOneExport:
    """Write RESULTS (and its baseline's detections and the comparison's tags) as a FiftyOne dataset folder."""
    fiftyone_module = require_extra("fiftyone", "the FiftyOne export")
    from gate.compare.compare import check_compatible

    out = check_output_dir(out, force)
    cand_folder, base_folder = _resolve_sides(Path(results), baseline, baselines_dir)
    candidate = _Side("candidate", cand_folder)
    base = _Side("baseline", base_folder) if base_folder is not None else None
    available = [s.name for s in candidate.record.suites]
    notes: list[str] = []
    if base is not None:
        available, notes = check_compatible(candidate.record, base.record)
    chosen = suites or available
    unknown = [s for s in chosen if s not in available]
    if unknown:
        raise InputError(f"suite(s) {', '.join(unknown)} not in the results (compared suites: {', '.join(available)})")

    with staged_dir(out) as staging:
        samples: list[dict] = []
        fields: list[str] = []
        for suite_name in chosen:
            suite_samples, suite_fields = _suite_samples(suite_name, candidate, base, staging / "data",
                                                         cache=cache, suites_dir=suites_dir, data=data)
            samples.extend(suite_samples)
            fields.extend(f for f in suite_fields if f not in fields)
        for sample in samples:  # every label field on every sample (empty where a backend did not run there)
            for field in fields:
                sample.setdefault(field, {"_cls": "Detections", "detections": []})
        # Failures first (stable: suite order, then manifest order), so the App opens on them.
        samples.sort(key=lambda s: not s["tags"])
        _check_with_fiftyone(fiftyone_module, samples)
        tag_counts = {tag: sum(tag in s["tags"] for s in samples) for tag in FAILURE_TAGS}
        summary = FiftyOneExport(out=str(out), samples=len(samples), suites=list(chosen), label_fields=fields,
                                 tag_counts=tag_counts, baseline=str(base_folder) if base_folder else None,
                                 notes=notes + ([] if base is not None else
                                                ["no baseline: only backend-disagreement tags"]))
        info = {
            "exported_by": "tsrgate", "summary": summary.model_dump(mode="json", exclude={"out"}),
            "candidate": _side_info(candidate), "baseline": _side_info(base) if base is not None else None,
            "tags": {TAG_MISSED: "a sign the baseline found (torch, at its operating threshold) and the candidate missed",
                     TAG_CONFUSION: "the candidate reads a sign as another class; the baseline did not",
                     TAG_FALSE_POSITIVE: "a candidate false positive the baseline does not have",
                     TAG_DISAGREEMENT: "a candidate backend's detections differ from torch's (same class, IoU >= 0.9)"},
        }
        metadata = {"name": f"tsrgate-{candidate.record.model.name}", "media_type": "image", "info": info}
        (staging / "metadata.json").write_text(dump_json(metadata), encoding="utf-8")
        (staging / "samples.json").write_text(dump_json({"samples": samples}), encoding="utf-8")
    return summary


def _side_info(side: _Side) -> dict[str, Any]:
    model = side.record.model
    return {"results": str(side.folder), "model": f"{model.name} {model.version}",
            "weights_sha256": model.weights_sha256, "operating_threshold": model.score_threshold,
            "suites": {s.name: {"version": s.version, "manifest_sha256": s.manifest_sha256}
                       for s in side.record.suites}}


def _check_with_fiftyone(fiftyone, samples: list[dict]) -> None:
    """Parse every sample with FiftyOne's own Sample.from_dict (no database involved) before publishing."""
    from fiftyone.core.sample import Sample

    for sample in samples:
        try:
            Sample.from_dict(json.loads(json.dumps(sample)) | {"filepath": "/" + sample["filepath"]})
        except Exception as exc:  # a bug in this exporter, reported as one line
            raise InputError(f"FiftyOne {fiftyone.__version__} rejects the exported sample {sample['filepath']} "
                             f"({type(exc).__name__}: {exc})") from None


__all__ = ["DATASET_TYPE", "FAILURE_TAGS", "FiftyOneExport", "export_fiftyone", "label_field", "relative_box"]
