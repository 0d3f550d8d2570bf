"""`tsrgate export fiftyone`: read back with FiftyOne's own importer, every sample, field, tag and box; mAP kept."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from gate.compare import load_verdict
from gate.eval import MatchRecords, regression_examples
from gate.run.detections_store import load_detections
from gate.results.opened import load_run
from gate.suites import open_suite
from tests.integrations.conftest import require_package

TAGS = ("missed-vs-baseline", "new-confusion", "new-false-positive", "backend-disagreement")


def read_back(folder: Path) -> list:
    """Samples as FiftyOne's importer for the exported type parses them (what Dataset.from_dir adds)."""
    fo = require_package("fiftyone", "fiftyone")
    importer = fo.types.LegacyFiftyOneDataset().get_dataset_importer_cls()(str(folder))
    with importer:
        return list(importer)


def pixel_box(detection, width: int, height: int) -> list[float]:
    x, y, w, h = detection.bounding_box
    return [x * width, y * height, w * width, h * height]


def coco_ap(gt: dict, results: list[dict]) -> float:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    coco = COCO()
    coco.dataset = gt
    coco.createIndex()
    ev = COCOeval(coco, coco.loadRes(results) if results else COCO(), "bbox")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return float(ev.stats[0])


def readback_coco(samples, suite: str, field: str, categories: list[dict]) -> tuple[dict, list[dict]]:
    """COCO ground truth and results rebuilt from read-back samples alone."""
    ids = {c["name"]: c["id"] for c in categories}
    images, annotations, results = [], [], []
    for sample in samples:
        if sample["suite"] != suite:
            continue
        w, h = sample.metadata.width, sample.metadata.height
        images.append({"id": sample["image_id"], "width": w, "height": h, "file_name": sample.filepath})
        for d in sample.ground_truth.detections:
            annotations.append({"id": d["annotation_id"], "image_id": sample["image_id"], "category_id": ids[d.label],
                                "bbox": pixel_box(d, w, h), "area": d["area"], "iscrowd": d["iscrowd"]})
        for d in sample[field].detections:
            if d["evaluated"]:
                results.append({"image_id": sample["image_id"], "category_id": ids[d.label],
                                "bbox": pixel_box(d, w, h), "score": d.confidence})
    return {"images": images, "annotations": annotations, "categories": categories}, results


@pytest.fixture(scope="module")
def exported(report_gate, tmp_path_factory):
    require_package("fiftyone", "fiftyone")
    from click.testing import CliRunner

    from gate.cli import cli

    out = tmp_path_factory.mktemp("fo") / "dataset"
    result = CliRunner().invoke(cli, ["export", "fiftyone", str(report_gate.verdict_path.parent), "--out", str(out),
                                      "--cache", str(report_gate.cache), "--suites-dir", str(report_gate.suites_dir)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_export_reads_back_with_every_sample_field_tag_and_box(report_gate, exported):
    out, output = exported
    verdict = load_verdict(report_gate.verdict_path)
    candidate, baseline = load_run(verdict.candidate.results_path), load_run(verdict.baseline.results_path)
    samples = read_back(out)
    written = json.loads((out / "samples.json").read_text())["samples"]
    assert len(samples) == len(written) == sum(s.images for s in candidate.suites)
    fields = ["ground_truth", "candidate_torch", "candidate_onnx", "baseline_torch", "baseline_onnx"]
    assert f"label fields: {', '.join(fields)}" in output
    # Failures first, so the App opens on them.
    tagged = [bool(s.tags) for s in samples]
    assert tagged == sorted(tagged, reverse=True) and any(tagged)

    seen = set()
    for sample, raw in zip(samples, written, strict=True):
        suite_name, image_id = sample["suite"], sample["image_id"]
        seen.add((suite_name, image_id))
        assert sample.tags == raw["tags"] and sample["disagreeing_backends"] == raw["disagreeing_backends"]
        assert Path(sample.filepath) == (out / raw["filepath"]).resolve()
        for field in fields:
            got, wrote = sample[field].detections, raw[field]["detections"]
            assert len(got) == len(wrote)
            for d, w in zip(got, wrote, strict=True):
                assert d.label == w["label"] and list(d.bounding_box) == w["bounding_box"]
                assert list(d.tags) == w["tags"]
                assert d.confidence == w.get("confidence")
    assert len(seen) == len(samples)

    for suite_prov in candidate.suites:
        suite = open_suite(suite_prov.folder, cache=report_gate.cache)
        names = suite.coco.category_names()
        by_image = suite.coco.annotations_by_image()
        mine = {s["image_id"]: s for s in samples if s["suite"] == suite.name}
        assert set(mine) == {img.id for img in suite.coco.images}
        for image in suite.coco.images:
            sample = mine[image.id]
            # The exported image is the suite's image, byte for byte.
            assert Path(sample.filepath).read_bytes() == suite.image_path(image.id).read_bytes()
            assert (sample.metadata.width, sample.metadata.height) == (image.width, image.height)
            gt = sample.ground_truth.detections
            assert [d.label for d in gt] == [names[a.category_id] for a in by_image[image.id]]
            for d, ann in zip(gt, by_image[image.id], strict=True):
                assert np.allclose(pixel_box(d, image.width, image.height), ann.bbox, rtol=0, atol=1e-9)
                assert d["iscrowd"] == int(bool(ann.iscrowd) or ann.ignore)
        for side_name, record, folder in (("candidate", candidate, verdict.candidate.results_path),
                                          ("baseline", baseline, verdict.baseline.results_path)):
            for backend in ("torch", "onnx"):
                dets = {d.image_id: d for d in load_detections(Path(folder) / record.entry(suite.name, backend)
                                                               .predictions_file)}
                for image in suite.coco.images:
                    got = mine[image.id][f"{side_name}_{backend}"].detections
                    want = dets[image.id]
                    assert [d.confidence for d in got] == [float(s) for s in want.scores]
                    assert [d["model_class"] for d in got] == [record.model.class_names[k] for k in want.labels]
                    xyxy = [[x, y, x + w, y + h] for x, y, w, h in (pixel_box(d, image.width, image.height) for d in got)]
                    assert np.allclose(np.array(xyxy).reshape(-1, 4), want.boxes, rtol=0, atol=1e-4)

        # Tags: exactly the images of each regression kind that tsrgate's gallery draws from.
        cand_rec = MatchRecords.load(Path(verdict.candidate.results_path) / candidate.entry(suite.name, "torch").records_file)
        base_rec = MatchRecords.load(Path(verdict.baseline.results_path) / baseline.entry(suite.name, "torch").records_file)
        examples = regression_examples(cand_rec, base_rec, candidate.model.score_threshold,
                                       baseline.model.score_threshold, limit=100_000)
        for kind, tag in (("missed", TAGS[0]), ("new_confusion", TAGS[1]), ("new_false_positive", TAGS[2])):
            expected = {e.image_id for e in examples if e.kind == kind}
            assert {i for i, s in mine.items() if tag in s.tags} == expected, tag
            # ... and the boxes concerned carry the tag too.
            tagged_gt = sum(tag in d.tags for s in mine.values() for d in s.ground_truth.detections)
            tagged_pred = sum(tag in d.tags for s in mine.values() for d in s.candidate_torch.detections)
            gt_examples = sum(1 for e in examples if e.kind == kind and e.gt_annotation_id is not None)
            pred_examples = sum(1 for e in examples if e.kind == kind and e.predicted_bbox is not None)
            assert (tagged_gt, tagged_pred) == (gt_examples, pred_examples), tag
    assert any(TAGS[0] in s.tags for s in samples)  # the planted regression: signs the candidate lost


def test_read_back_labels_give_the_same_map(report_gate, exported):
    out, _ = exported
    verdict = load_verdict(report_gate.verdict_path)
    samples = read_back(out)
    for side_name, side in (("candidate", verdict.candidate), ("baseline", verdict.baseline)):
        record = load_run(side.results_path)
        for suite_prov in record.suites:
            suite = open_suite(suite_prov.folder, cache=report_gate.cache)
            categories = [c.model_dump() for c in suite.coco.categories]
            for backend in ("torch", "onnx"):
                entry = record.entry(suite.name, backend)
                gt, results = readback_coco(samples, suite.name, f"{side_name}_{backend}", categories)
                assert len(gt["images"]) == suite_prov.images
                ap = coco_ap(gt, results)
                # tsrgate's AP equals pycocotools' to within 1e-9 (tests/eval); the round trip loses nothing.
                assert ap == pytest.approx(entry.summary["ap"], abs=1e-9), (side_name, suite.name, backend)
                assert ap > 0.0


def test_backend_disagreement_tags_the_images_where_a_backend_differs(report_gate, tmp_path):
    """A candidate whose onnx detections are dropped on some images: exactly those images are tagged."""
    require_package("fiftyone", "fiftyone")
    from gate.backends.detections import Detections
    from gate.integrations.fiftyone_export import export_fiftyone
    from tests.gate_fixtures import craft_results

    threshold = load_run(report_gate.candidate_results).model.score_threshold
    dropped: dict[str, set[int]] = {}

    def edit(suite_name, backend, suite, dets):
        if backend != "onnx":
            return dets
        out = []
        for d in dets:
            if d.image_id % 3 == 0 and len(d.above(threshold)):
                dropped.setdefault(suite_name, set()).add(d.image_id)
                d = Detections.empty(d.image_id)
            out.append(d)
        return out

    crafted = craft_results(report_gate.candidate_results, tmp_path / "crafted", edit)
    summary = export_fiftyone(crafted, tmp_path / "fo", cache=report_gate.cache, suites_dir=report_gate.suites_dir)
    assert summary.baseline is None and summary.label_fields == ["ground_truth", "candidate_torch", "candidate_onnx"]
    samples = read_back(tmp_path / "fo")
    assert dropped
    for suite_name in {s["suite"] for s in samples}:
        tagged = {s["image_id"] for s in samples if s["suite"] == suite_name and TAGS[3] in s.tags}
        # Images where onnx lost detections, plus any where onnx and torch already differed.
        assert dropped.get(suite_name, set()) <= tagged
        for s in samples:
            if s["suite"] == suite_name and s["image_id"] in tagged:
                assert s["disagreeing_backends"] == ["onnx"]
    assert summary.tag_counts[TAGS[3]] == sum(TAGS[3] in s.tags for s in samples) >= len(set().union(*dropped.values()))
    assert summary.tag_counts[TAGS[0]] == 0  # no baseline: no regression tags


def test_export_refuses_bad_input_with_one_line(report_gate, exported, tmp_path, run_cli):
    out, _ = exported
    before = (out / "samples.json").read_bytes()
    cases = [
        (["export", "fiftyone", tmp_path / "nothing", "--out", tmp_path / "x"], "neither a results folder"),
        (["export", "fiftyone", report_gate.verdict_path.parent, "--out", out], "already exists; pass --force"),
        (["export", "fiftyone", report_gate.verdict_path.parent, "--out", tmp_path / "y", "--suite", "nope",
          "--cache", report_gate.cache, "--suites-dir", report_gate.suites_dir], "suite(s) nope not in the results"),
        (["export", "fiftyone", report_gate.verdict_path.parent, "--out", tmp_path / "z", "--baseline",
          report_gate.baseline_results], "a verdict names its baseline"),
    ]
    for args, message in cases:
        result = run_cli(*args)
        errors = [ln for ln in result.output.splitlines() if ln.startswith("error: ")]
        assert result.exit_code == 2 and len(errors) == 1 and message in errors[0], result.output
    assert (out / "samples.json").read_bytes() == before  # the existing export is untouched
    assert not (tmp_path / "y").exists() and not (tmp_path / "z").exists()


def test_export_is_byte_identical_when_repeated(report_gate, exported, tmp_path):
    out, _ = exported
    from gate.integrations.fiftyone_export import export_fiftyone

    export_fiftyone(report_gate.verdict_path, tmp_path / "again", cache=report_gate.cache,
                    suites_dir=report_gate.suites_dir)
    for name in ("samples.json", "metadata.json"):
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes()
    shutil.rmtree(tmp_path / "again")
