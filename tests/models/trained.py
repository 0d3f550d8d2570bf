"""One briefly trained tiny detector per test session, shared by tests/models and tests/backends.

A freshly initialised RT-DETR scores every query almost alike (top-k ties), so parity and backend
tests use a model trained for 100 steps (about half a minute) on the generated shapes dataset.
"""

from __future__ import annotations

from pathlib import Path

from gate.cards.recipe import parse_recipe
from tests.models.shapes import make_shapes_dataset

_CACHE: dict[str, Path] = {}

SHAPES_RECIPE = {
    "name": "shapes-test",
    "model": {"size": "tiny", "preprocessing": {"input_size": [128, 160]}},
    "steps": 100,
    "batch_size": 2,
    "threads": 1,
    "checkpoint_interval": 1000,
    "optimizer": {"lr": 1e-3},
    "schedule": {"warmup_steps": 10},
    "mining": {"enabled": False},
    "splits": {"train": {"tag": "split", "values": ["train"]}, "validate_on": {"tag": "split", "values": ["val"]}},
}


def shapes_dataset(tmp_path_factory) -> Path:
    if "data" not in _CACHE:
        _CACHE["data"] = make_shapes_dataset(tmp_path_factory.mktemp("shapes") / "data", images=16)
    return _CACHE["data"]


def trained_model(tmp_path_factory) -> Path:
    if "model" not in _CACHE:
        from gate.models.train import train_model

        root = tmp_path_factory.mktemp("trained")
        outcome = train_model(shapes_dataset(tmp_path_factory), parse_recipe(SHAPES_RECIPE), root / "model",
                              work_dir=root / "work", progress=False)
        _CACHE["model"] = outcome.model_dir
    return _CACHE["model"]
