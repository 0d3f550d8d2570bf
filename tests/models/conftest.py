from __future__ import annotations

import os

import pytest

from tests.models.trained import shapes_dataset, trained_model

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def shapes_data(tmp_path_factory):
    """A 16-image generated dataset (3 shape classes, split tag train/val)."""
    return shapes_dataset(tmp_path_factory)


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory):
    """A tiny RT-DETR trained 100 steps on `shapes_data` (do not modify it)."""
    return trained_model(tmp_path_factory)
