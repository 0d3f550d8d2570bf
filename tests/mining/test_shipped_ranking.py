"""The issue's done-when check: the shipped synth-baseline ranks hard scenes above clean daylight.

The pool is the generated world of conftest.py (seed 31, never seen in training: the model was
trained on seed 0). Difficulty is known from the world itself: night and fog from the image tags,
occlusion from the annotations' measured `occluded` fraction, rare classes from the training counts
the mining result reports. "Clean" = daylight, clear weather, no sign occluded 30 % or more and no
rare-class sign. The tiny-model version of this check (scene statistics only) is in test_mine.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from gate.data.coco import load_coco
from gate.mining import mine_pool
from tests.mining.conftest import SHIPPED_BASELINE

OCCLUDED = 0.3  # a sign at least this occluded makes the image "occluded"
RARE = 0.4  # rarity at least this (fewer than 60 % of the median class's training boxes) makes a class rare


@pytest.fixture(scope="module")
def baseline_runs(mining_world, tmp_path_factory):
    if not (SHIPPED_BASELINE / "card.json").is_file():
        pytest.skip(f"the shipped model synth-baseline is not in {SHIPPED_BASELINE} (train it with "
                    "models/recipes/synth-baseline.yaml); the tiny-model ranking check in test_mine.py still runs")
    labelled = mine_pool(SHIPPED_BASELINE, mining_world)
    unlabelled_pool = tmp_path_factory.mktemp("unlabelled")
    for path in (mining_world / "images").iterdir():
        (unlabelled_pool / path.name).write_bytes(path.read_bytes())
    unlabelled = mine_pool(SHIPPED_BASELINE, unlabelled_pool)
    return labelled.result, unlabelled.result


def difficulty_groups(world, result) -> dict[str, set[str]]:
    """File names of the world's images per difficulty group (an image may be in several hard groups)."""
    coco = load_coco(world / "annotations.json")
    rarity = {i + 1: c.rarity for i, c in enumerate(result.rarity.classes)}  # categories are the model's classes
    groups: dict[str, set[str]] = {"night": set(), "fog": set(), "occluded": set(), "rare": set(), "clean": set()}
    boxes = coco.annotations_by_image()
    for img in coco.images:
        anns = boxes.get(img.id, [])
        if img.tags["time"] == "night":
            groups["night"].add(img.file_name)
        if img.tags["weather"] == "fog":
            groups["fog"].add(img.file_name)
        if any(float(a.attributes.get("occluded", 0.0)) >= OCCLUDED for a in anns):
            groups["occluded"].add(img.file_name)
        if any(rarity.get(a.category_id, 0.0) >= RARE for a in anns):
            groups["rare"].add(img.file_name)
    hard = set().union(*(groups[g] for g in ("night", "fog", "occluded", "rare")))
    groups["clean"] = {img.file_name for img in coco.images
                       if (img.tags["time"], img.tags["weather"]) == ("day", "clear") and img.file_name not in hard}
    groups["hard"] = hard
    return groups


def mean_ranks(result, groups) -> dict[str, float]:
    rank = {img.file: img.rank for img in result.images}
    return {name: float(np.mean([rank[f] for f in files])) for name, files in groups.items() if files}


def test_rarity_comes_from_the_training_data(baseline_runs):
    labelled, _ = baseline_runs
    assert labelled.rarity.available
    rare = [c.class_name for c in labelled.rarity.classes if c.rarity >= RARE]
    assert "traffic_signals_ahead" in rare and "speed_limit_50" not in rare


def test_hard_scenes_rank_above_clean_daylight_with_labels(baseline_runs, mining_world):
    labelled, _ = baseline_runs
    groups = difficulty_groups(mining_world, labelled)
    ranks = mean_ranks(labelled, groups)
    assert len(groups["clean"]) >= 8 and all(len(groups[g]) >= 3 for g in ("night", "fog", "occluded", "rare"))
    for group in ("night", "fog", "occluded", "rare", "hard"):
        assert ranks[group] < ranks["clean"], (group, ranks)


def test_hard_scenes_rank_above_clean_daylight_without_labels(baseline_runs, mining_world):
    _, unlabelled = baseline_runs
    assert not {s.name: s.available for s in unlabelled.signals}["missed"]
    groups = difficulty_groups(mining_world, unlabelled)
    ranks = mean_ranks(unlabelled, groups)
    for group in ("night", "fog", "hard"):
        assert ranks[group] < ranks["clean"], (group, ranks)
