"""Every command that reads an input file, fed malformed files of each kind: exit 2, one line, no internal error.

Each command gets the bad file in the slot it reads (a suite spec, a policy, a gate config, a recipe,
a model card, COCO annotations, predictions, a results index, a verdict, a mining result, a suite
manifest, a YOLO data.yaml, ...). The kinds: an alias bomb, broken syntax, a document of the wrong
shape, wrong value types, recursive aliases, bytes that are not UTF-8, an empty file, a missing
file; then outputs whose parent folder is a file, and non-finite coordinates in imported labels.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from gate.results import seal_results_folder
from tests.test_inputs import alias_bomb

MALFORMED_YAML: dict[str, bytes] = {
    "alias bomb": alias_bomb().encode(),
    "broken syntax": b"name: [unclosed\nversion: 1\n",
    "a list, not a mapping": b"- name\n- version\n",
    "wrong value types": b"name: {nested: 1}\nversion: [1, 2]\nsuites: 3\nrules: x\nnames: 7\n",
    "recursive alias": b"name: &a [*a]\n",
    "not UTF-8": b"name: \xff\xfe\x00\x81\n",
    "empty": b"",
}
MALFORMED_JSON: dict[str, bytes] = {
    "broken syntax": b'{"images": [',
    "a list, not an object": b"[1, 2, 3]",
    "wrong value types": b'{"images": "x", "annotations": 1, "categories": null, "kind": 3, "format": {}, "files": 5}',
    "not UTF-8": b"\xff\xfe{\x00}",
    "empty": b"",
    "NaN where a number belongs": b'{"images": [{"id": 1, "file_name": "a.png", "width": NaN, "height": 4}], '
                                  b'"annotations": [], "categories": []}',
}
MISSING = b"<missing>"


@dataclass
class Workspace:
    root: Path

    def path(self, relative: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def put(self, relative: str, content: bytes) -> Path:
        path = self.path(relative)
        if content is MISSING:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(content)
        return path


def sealed_results(root: Path) -> Path:
    folder = root / "sealed"
    if not folder.is_dir():
        (folder / "clean").mkdir(parents=True)
        (folder / "clean" / "part.json").write_text("{}")
        seal_results_folder(folder, header={"payload": "x"})
    return folder


def tiny_image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 6)).save(path)
    return path


# Each slot: (file the command reads, the command line). `w` is the workspace, `bad` the malformed file.
Slot = Callable[[Workspace, Path], list]
YAML_SLOTS: dict[str, tuple[str, Slot]] = {
    "suite build: spec": ("spec.yaml", lambda w, bad: ["suite", "build", bad, "--suites-dir", w.path("suites")]),
    "compare: --policy": ("policy.yaml", lambda w, bad: ["compare", w.path("a"), w.path("b"), "--policy", bad,
                                                         "--no-latency", "--no-history"]),
    "compare: --config": ("config.yaml", lambda w, bad: ["compare", w.path("a"), "--config", bad, "--no-history"]),
    "run: --config": ("config.yaml", lambda w, bad: ["run", w.path("model"), "--config", bad, "--out", w.path("o")]),
    "train: --recipe": ("recipe.yaml", lambda w, bad: ["train", "--data", w.path("data"), "--recipe", bad,
                                                       "--out", w.path("trained")]),
    "ingest: --card": ("draft.yaml", lambda w, bad: ["ingest", tiny_image(w.path("weights/x.png")).parent,
                                                     "--card", bad, "--out", w.path("ingested")]),
    "export: card.yaml": ("model/card.yaml", lambda w, bad: ["export", bad.parent, "--format", "onnx"]),
    "predict: card.yaml": ("model/card.yaml", lambda w, bad: ["predict", bad.parent, w.path("data"),
                                                               "--out", w.path("p.json")]),
    "run: card.yaml": ("model/card.yaml", lambda w, bad: ["run", bad.parent, "--suites", "clean", "--out", w.path("o")]),
    "mine: card.yaml": ("model/card.yaml", lambda w, bad: ["mine", bad.parent, w.path("data"), "--out", w.path("m")]),
    "data check: --accept": ("accept.yaml", lambda w, bad: ["data", "check", w.path("data"), "--accept", bad]),
    "data import yolo: data.yaml": ("yolo/data.yaml", lambda w, bad: ["data", "import", "yolo", bad.parent,
                                                                      w.path("imported")]),
}
# Documents that are valid in that slot: an empty accepted-findings file accepts nothing.
FINE = {("data check: --accept", "empty")}
JSON_SLOTS: dict[str, tuple[str, Slot]] = {
    "eval: annotations": ("gt.json", lambda w, bad: ["eval", bad, w.path("preds.json")]),
    "eval: predictions": ("preds.json", lambda w, bad: ["eval", w.path("good-gt.json"), bad]),
    "data check: annotations.json": ("data/annotations.json", lambda w, bad: ["data", "check", bad.parent]),
    "data import coco: annotations": ("coco/annotations.json", lambda w, bad: ["data", "import", "coco", bad,
                                                                               w.path("imported"), "--images",
                                                                               w.path("coco/images")]),
    "compare: results index": ("res/results-index.json", lambda w, bad: ["compare", bad.parent, bad.parent,
                                                                         "--no-latency", "--no-history"]),
    "baseline promote: results index": ("res/results-index.json", lambda w, bad: [
        "baseline", "promote", bad.parent, "--line", "x", "--baselines-dir", w.path("baselines")]),
    "baseline promote: --verdict": ("verdict.json", lambda w, bad: [
        "baseline", "promote", sealed_results(w.root), "--line", "x", "--verdict", bad,
        "--baselines-dir", w.path("baselines")]),
    "report: verdict": ("verdict.json", lambda w, bad: ["report", bad, "--format", "md", "--out", w.path("r.md")]),
    "mined-dataset: mined.json": ("mined/mined.json", lambda w, bad: ["mined-dataset", bad.parent, "--labels",
                                                                      w.path("labels.json"), "--out", w.path("ds")]),
    "suite verify: manifest": ("suites/s/1/manifest.json", lambda w, bad: ["suite", "verify", "s", "--suites-dir",
                                                                           w.path("suites")]),
    "export: card.json": ("model/card.json", lambda w, bad: ["export", bad.parent, "--format", "onnx"]),
}


def assert_refused(result, what: str) -> None:
    output = result.output
    assert result.exit_code == 2, f"{what}: exit {result.exit_code}\n{output}"
    assert "internal error" not in output and "Traceback" not in output, f"{what}:\n{output}"
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, f"{what}: expected one error line\n{output}"


@pytest.fixture()
def workspace(tmp_path) -> Workspace:
    w = Workspace(tmp_path)
    for name in ("a", "b", "model", "res", "mined", "data/images"):
        w.path(name).mkdir(parents=True, exist_ok=True)
    gt = {"images": [{"id": 1, "file_name": "a.png", "width": 8, "height": 6}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 3, 3]}],
          "categories": [{"id": 1, "name": "stop"}]}
    w.put("good-gt.json", json.dumps(gt).encode())
    w.put("preds.json", json.dumps([{"image_id": 1, "category_id": 1, "bbox": [1, 1, 3, 3], "score": 0.9}]).encode())
    w.put("labels.json", json.dumps(gt).encode())
    tiny_image(w.path("data/images/a.png"))
    w.put("data/annotations.json", json.dumps(gt).encode())
    tiny_image(w.path("yolo/images/a.png"))
    w.put("yolo/labels/a.txt", b"0 0.5 0.5 0.2 0.2\n")
    tiny_image(w.path("coco/images/a.png"))
    return w


@pytest.mark.parametrize("slot", sorted(YAML_SLOTS))
def test_malformed_yaml_through_every_command(slot, workspace, run_cli):
    relative, command = YAML_SLOTS[slot]
    for kind, content in [*MALFORMED_YAML.items(), ("missing", MISSING)]:
        if (slot, kind) in FINE:
            continue
        bad = workspace.put(relative, content)
        started = time.perf_counter()
        result = run_cli(*command(workspace, bad))
        assert_refused(result, f"{slot} / {kind}")
        if kind == "alias bomb":
            assert time.perf_counter() - started < 30, "the alias bomb was expanded"  # (refused in ms; see test_inputs)
            assert "aliases expand to more than" in result.output


@pytest.mark.parametrize("slot", sorted(JSON_SLOTS))
def test_malformed_json_through_every_command(slot, workspace, run_cli):
    relative, command = JSON_SLOTS[slot]
    for kind, content in [*MALFORMED_JSON.items(), ("missing", MISSING)]:
        bad = workspace.put(relative, content)
        result = run_cli(*command(workspace, bad))
        assert_refused(result, f"{slot} / {kind}")


OUTPUT_SLOTS: dict[str, Slot] = {
    "eval --json": lambda w, blocker: ["eval", w.path("good-gt.json"), w.path("preds.json"),
                                       "--json", blocker / "eval.json"],
    "data check --json": lambda w, blocker: ["data", "check", w.path("data"), "--json", blocker / "check.json"],
    "data import yolo OUT": lambda w, blocker: ["data", "import", "yolo", w.path("yolo"), blocker / "imported"],
    "data synth OUT": lambda w, blocker: ["data", "synth", blocker / "world", "--images", "1"],
    "history --db": lambda w, blocker: ["history", "--db", blocker / "history.sqlite"],
}


@pytest.mark.parametrize("slot", sorted(OUTPUT_SLOTS))
def test_output_under_a_file_is_one_line(slot, workspace, run_cli):
    (workspace.root / "names.txt").write_text("stop\n")
    workspace.put("yolo/classes.txt", b"stop\n")
    blocker = workspace.put("blocker", b"a file where a folder must be")
    result = run_cli(*OUTPUT_SLOTS[slot](workspace, blocker))
    assert_refused(result, slot)
    assert str(blocker) in result.output
    assert blocker.read_bytes() == b"a file where a folder must be"


def test_compare_out_under_a_file_is_one_line(gate_env, tmp_path, run_cli):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder must be")
    result = run_cli("compare", gate_env.results, gate_env.results, "--out", blocker / "reports", "--no-latency",
                     "--no-history")
    assert_refused(result, "compare --out")
    assert f"cannot write here: {blocker} is a file, not a folder" in result.output


@pytest.mark.parametrize(("label", "where"), [
    ("0 nan 0.5 0.2 0.2", ":1: cx cy w h must be finite numbers"),
    ("0 0.5 0.5 0.2 0.2\n0 0.5 inf 0.2 0.2", ":2: cx cy w h must be finite numbers"),
    ("0 0.5 0.5 nan 0.2", ":1: cx cy w h must be finite numbers"),
])
def test_non_finite_yolo_coordinates_name_file_and_line(label, where, workspace, run_cli):
    workspace.put("yolo/classes.txt", b"stop\n")
    labels = workspace.put("yolo/labels/a.txt", label.encode())
    result = run_cli("data", "import", "yolo", workspace.path("yolo"), workspace.path("out"))
    assert_refused(result, label)
    assert f"error: {labels}{where}" in result.output
    assert not workspace.path("out").exists()


@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity", "1e999"])
def test_non_finite_voc_coordinates_name_file_and_line(value, workspace, run_cli):
    tiny_image(workspace.path("voc/JPEGImages/a.png"))
    xml = workspace.put("voc/Annotations/a.xml", (
        "<annotation>\n<filename>a.png</filename>\n<object>\n<name>stop</name>\n<bndbox>\n"
        f"<xmin>1</xmin>\n<ymin>1</ymin>\n<xmax>{value}</xmax>\n<ymax>4</ymax>\n</bndbox>\n</object>\n</annotation>\n"
    ).encode())
    result = run_cli("data", "import", "voc", workspace.path("voc"), workspace.path("out"))
    assert_refused(result, value)
    assert f"error: {xml}:8: <xmax> must be a finite number, got '{value}'" in result.output


def test_baseline_show_of_a_missing_line_exits_2(workspace, run_cli):
    result = run_cli("baseline", "show", "nope", "--baselines-dir", workspace.path("baselines"))
    assert_refused(result, "baseline show")
    assert "no baseline line 'nope'" in result.output

