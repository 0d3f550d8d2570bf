"""Mining fixtures: a generated world with a known mix of scenes, the tiny trained model, one mining run.

The world (48 images, seed 31) has 30 clean-daylight, 6 night and 8 fog scenes (plus 4 dusk/rain/
overcast ones), and 17 images with a sign at least 30 % occluded: difficulty is known from its tags
and annotations, which is what the ranking tests check against.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.models.trained import shapes_dataset, trained_model

os.environ.setdefault("HF_HUB_OFFLINE", "1")

WORLD_IMAGES = 48
WORLD_SEED = 31
REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_BASELINE = REPO_ROOT / "models" / "synth-baseline"

_CACHE: dict[str, object] = {}


@pytest.fixture(scope="session")
def mining_world(tmp_path_factory) -> Path:
    """The generated world of the module docstring (a dataset folder: images/ + annotations.json)."""
    if "world" not in _CACHE:
        from gate.data.synth import generate_world

        _CACHE["world"] = generate_world(tmp_path_factory.mktemp("mining") / "world", WORLD_IMAGES, WORLD_SEED,
                                         workers=1)
    return _CACHE["world"]  # type: ignore[return-value]


@pytest.fixture(scope="session")
def fixture_model(tmp_path_factory) -> Path:
    """The tiny RT-DETR trained 100 steps on coloured shapes (tests/models/trained.py); do not modify."""
    return trained_model(tmp_path_factory)


@pytest.fixture(scope="session")
def low_threshold_model(tmp_path_factory, fixture_model) -> Path:
    """The fixture model with its operating threshold at 0.2: after 100 steps its scores stay below 0.35,
    so at the usual 0.5 it would report nothing and the threshold-based signals would have nothing to see."""
    if "low_threshold" not in _CACHE:
        import shutil

        from gate.cards.card import load_card, save_card

        folder = tmp_path_factory.mktemp("low_threshold") / "model"
        shutil.copytree(fixture_model, folder)
        card = load_card(folder)
        save_card(card.model_copy(update={"postprocessing": card.postprocessing.model_copy(
            update={"operating_threshold": 0.2})}), folder)
        _CACHE["low_threshold"] = folder
    return _CACHE["low_threshold"]  # type: ignore[return-value]


@pytest.fixture(scope="session")
def shapes_pool(tmp_path_factory) -> Path:
    """The fixture model's own 16-image labelled shapes dataset."""
    return shapes_dataset(tmp_path_factory)


@pytest.fixture(scope="session")
def world_run(fixture_model, mining_world):
    """One mining pass of the fixture model over the world (torch only), shared by read-only tests."""
    if "world_run" not in _CACHE:
        from gate.mining import MiningSettings, mine_pool

        _CACHE["world_run"] = mine_pool(fixture_model, mining_world, settings=MiningSettings(top=12))
    return _CACHE["world_run"]
