"""Two tiny results folders and their verdict, built with the library, for report tests.

The baseline is the shared tiny detector trained 100 steps on the shapes dataset
(tests/models/trained.py), with its operating threshold lowered to 0.25 (the briefly trained model
scores below 0.5). The candidate is the same model with the `yellow_triangle` logit pushed down in
every classification head: a planted, real regression (the triangles the baseline found are lost),
so the verdict fails (suite AP and AP50 rules) and the gallery has misses to show. Both run two
suites (clean and night, built over a separate shapes dataset) on torch and onnx, with the absent test
backend listed so the report must say it was unavailable and why. No history is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.absent_backend import ABSENT
from tests.models.shapes import make_shapes_dataset
from tests.models.trained import trained_model

SUITES = ("shapes-clean", "shapes-night")
BACKENDS = ["torch", "onnx", ABSENT]
OPERATING_THRESHOLD = 0.25
SUPPRESSED_CLASS = 2  # yellow_triangle
SUPPRESSION = 4.0  # subtracted from that class's logit bias


@dataclass
class GateFixture:
    root: Path
    suites_dir: Path
    cache: Path
    history_db: Path  # never created by the fixture (reports must say "no history database")
    baseline_model: Path
    candidate_model: Path
    baseline_results: Path
    candidate_results: Path
    verdict_path: Path


def _write_spec(path: Path, spec: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def build_suites(root: Path, suites_dir: Path, cache: Path) -> None:
    from gate.suites import build_suite

    data = make_shapes_dataset(root / "suite-data", images=24, seed=7, val_every=1000)
    specs = {
        "shapes-clean": {"transforms": []},
        "shapes-night": {"transforms": [{"name": "night", "severity": 2}]},
    }
    for name, extra in specs.items():
        spec = {"name": name, "version": 1, "description": f"{name} (report tests)", "seed": 5,
                "source": {"dataset": str(data)}, **extra}
        build_suite(_write_spec(root / "specs" / f"{name}.yaml", spec), cache=cache, suites=suites_dir)


def derive_model(source: Path, out: Path, name: str, version: str, suppress: int | None = None) -> Path:
    """A copy of a model folder under a new name and threshold, optionally with one class's logits pushed down."""
    import shutil

    import numpy as np
    from safetensors.numpy import load_file, save_file

    from gate.cards.card import load_card, save_card
    from gate.storage import sha256_file

    shutil.copytree(source, out)
    card = load_card(out)
    weights_path = out / card.weights.file
    if suppress is not None:
        weights = load_file(weights_path)
        for key, value in weights.items():
            # Every classification head's bias (encoder query scores, each decoder layer's class logits).
            if key.startswith(("model.decoder.class_embed.", "model.enc_score_head.")) and key.endswith(".bias"):
                edited = value.copy()
                edited[suppress] -= SUPPRESSION
                weights[key] = np.ascontiguousarray(edited)
        save_file(weights, str(weights_path))
    postprocessing = card.postprocessing.model_copy(update={"operating_threshold": OPERATING_THRESHOLD})
    card = card.model_copy(update={
        "name": name, "version": version, "postprocessing": postprocessing,
        "weights": card.weights.model_copy(update={"sha256": sha256_file(weights_path),
                                                   "bytes": weights_path.stat().st_size}),
    })
    save_card(card, out)
    load_card(out)  # the derived folder must verify like any model folder
    return out


def build_gate_fixture(tmp_path_factory) -> GateFixture:
    """Suites, two models, two results folders and their verdict under one tmp folder."""
    from gate.compare import compare_results
    from gate.run import GateConfig, run_model

    root = tmp_path_factory.mktemp("report-gate")
    suites_dir, cache = root / "suites", root / "cache"
    build_suites(root, suites_dir, cache)
    trained = trained_model(tmp_path_factory)
    baseline_model = derive_model(trained, root / "models" / "baseline", "shapes-baseline", "1.0.0")
    candidate_model = derive_model(trained, root / "models" / "candidate", "shapes-candidate", "2.0.0",
                                   suppress=SUPPRESSED_CLASS)
    config = GateConfig(suites=list(SUITES), backends=BACKENDS, threads=1, batch_size=4,
                        latency={"warmup": 1, "runs": 4, "images": 3})
    results = {}
    for side, model in (("baseline", baseline_model), ("candidate", candidate_model)):
        results[side] = root / "results" / side
        run_model(model, config, results[side], cache=cache, suites_dir=suites_dir, progress=False)
    verdict = compare_results(results["candidate"], results["baseline"], latency=False)
    verdict_dir = root / "reports"
    verdict_dir.mkdir()
    verdict.save(verdict_dir / "verdict.json")
    return GateFixture(
        root=root, suites_dir=suites_dir, cache=cache, history_db=root / "history.sqlite",
        baseline_model=baseline_model, candidate_model=candidate_model,
        baseline_results=results["baseline"], candidate_results=results["candidate"],
        verdict_path=verdict_dir / "verdict.json",
    )
