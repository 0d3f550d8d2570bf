"""A small, real gate environment for run / compare / report tests.

Two suites (clean and fog) built from a 40-image shapes dataset, the briefly trained tiny model of
tests/models/trained.py, and helpers to craft a candidate results folder with a known change.
Session-scoped and built once; every path lives under pytest's temporary folder.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gate.backends.detections import Detections
from gate.results import RESULTS_INDEX, seal_results_folder
from gate.run import GateConfig, load_run, run_model
from gate.results.record import RUN_FILE
from gate.run.runner import write_suite_detections
from gate.storage import atomic_write_json
from tests.absent_backend import ABSENT
from tests.models.shapes import make_shapes_dataset
from tests.models.trained import trained_model

SUITE_SPECS = {
    "shapes-clean": "seed: 11\nselection: {}\n",
    "shapes-fog": "seed: 12\nselection: {}\ntransforms:\n  - {name: fog, severity: 3}\n",
}


@dataclass
class GateEnv:
    root: Path
    suites_dir: Path
    cache: Path
    model_dir: Path
    results: Path  # torch + the absent test backend (unavailable) on both suites


_ENV: dict[str, GateEnv] = {}


def gate_env(tmp_path_factory, env) -> GateEnv:
    """Build once; `env` (a pytest MonkeyPatch) sets the cache and history variables and restores them later."""
    if "env" in _ENV:
        return _ENV["env"]
    from gate.suites import build_suite

    root = tmp_path_factory.mktemp("gate-env")
    cache, suites_dir = root / "cache", root / "suites"
    env.setenv("TSRGATE_CACHE", str(cache))
    env.setenv("TSRGATE_HISTORY", str(root / "history.sqlite"))
    data = make_shapes_dataset(root / "data", images=40, seed=5)
    for name, body in SUITE_SPECS.items():
        spec = root / f"{name}.yaml"
        spec.write_text(f"name: {name}\nversion: 1\ndescription: test suite\nsource:\n  dataset: {data}\n{body}")
        build_suite(spec, cache=cache, suites=suites_dir)
    model = trained_model(tmp_path_factory)
    config = GateConfig(suites=list(SUITE_SPECS), backends=["torch", ABSENT],
                        latency={"warmup": 1, "runs": 2, "images": 2})
    results = root / "results-base"
    run_model(model, config, results, suites_dir=suites_dir, cache=cache, progress=False)
    _ENV["env"] = GateEnv(root=root, suites_dir=suites_dir, cache=cache, model_dir=model, results=results)
    return _ENV["env"]


DetectionsEditor = Callable[[str, str, object, list[Detections]], list[Detections]]


def craft_results(source: Path, out: Path, edit: DetectionsEditor) -> Path:
    """Copy a results folder, replace each (suite, backend)'s detections with `edit(...)`, re-evaluate, re-seal."""
    from gate.suites import open_suite

    shutil.copytree(source, out)
    (out / RESULTS_INDEX).unlink()
    record = load_run(source)
    entries = []
    for entry in record.entries:
        if entry.status == "ok":
            suite = open_suite(record.suite(entry.suite).folder)
            from gate.run.detections_store import load_detections

            dets = edit(entry.suite, entry.backend, suite, load_detections(out / entry.predictions_file))
            evaluation, _ = write_suite_detections(out / Path(entry.predictions_file).parent, suite, dets, record.model)
            entry = entry.model_copy(update={"summary": {m: evaluation.summary.get(m) for m in entry.summary}})
        entries.append(entry)
    record = record.model_copy(update={"entries": entries})
    atomic_write_json(out / RUN_FILE, record.model_dump(mode="json"))
    seal_results_folder(out, kind="run", header={"model": record.model.name, "crafted": True})
    return out


def perfect_detections(suite, class_names: list[str], drop_class: str | None = None, score: float = 0.9,
                       jitter: float = 1.0, seed: int = 0) -> list[Detections]:
    """Detections equal to the ground truth (boxes jittered by up to `jitter` px), optionally without one class."""
    rng = np.random.default_rng(seed)
    names = {c.id: c.name for c in suite.coco.categories}
    label_of = {name: i for i, name in enumerate(class_names)}
    by_image = suite.coco.annotations_by_image()
    out = []
    for image in suite.coco.images:
        boxes, scores, labels = [], [], []
        for ann in by_image.get(image.id, []):
            name = names[ann.category_id]
            if ann.iscrowd or name == drop_class:
                continue
            x, y, w, h = ann.bbox
            boxes.append([x, y, x + w, y + h] + rng.uniform(-jitter, jitter, 4))
            scores.append(score)
            labels.append(label_of[name])
        out.append(Detections(image_id=image.id, boxes=np.array(boxes, np.float32).reshape(-1, 4),
                              scores=np.array(scores, np.float32), labels=np.array(labels, np.int64)))
    return out


def write_policy(path: Path, rules: list[dict], **defaults) -> Path:
    path.write_text(json.dumps({"name": "test", "defaults": defaults, "rules": rules}))
    return path
