from __future__ import annotations

import pytest

from gate.errors import InputError, IntegrityError
from gate.results import RESULTS_INDEX, load_results_index, seal_results_folder


@pytest.fixture()
def sealed(tmp_path):
    folder = tmp_path / "res"
    (folder / "clean" / "torch").mkdir(parents=True)
    (folder / "clean" / "torch" / "metrics.json").write_text('{"ap": 0.5}')
    (folder / "run.json").write_text("{}")
    seal_results_folder(folder, header={"model": "m"})
    return folder


def test_sealed_folder_loads(sealed):
    index = load_results_index(sealed)
    assert set(index.files) == {"clean/torch/metrics.json", "run.json"}
    assert index.header == {"model": "m"}


def test_missing_index_is_an_interrupted_run(sealed):
    (sealed / RESULTS_INDEX).unlink()
    with pytest.raises(InputError, match="interrupted run"):
        load_results_index(sealed)


def test_changed_file_is_tampering(sealed):
    (sealed / "clean" / "torch" / "metrics.json").write_text('{"ap": 0.9}')
    with pytest.raises(IntegrityError, match="metrics.json: sha256 differs"):
        load_results_index(sealed)


def test_added_file_is_tampering(sealed):
    (sealed / "clean" / "extra.json").write_text("{}")
    with pytest.raises(IntegrityError, match="not listed"):
        load_results_index(sealed)


def test_removed_file_is_detected(sealed):
    (sealed / "run.json").unlink()
    with pytest.raises(IntegrityError, match="missing"):
        load_results_index(sealed)
