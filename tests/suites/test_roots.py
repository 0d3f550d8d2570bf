"""Several suites roots (a path list), and dataset paths relative to the spec's folder."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from gate.errors import InputError
from gate import locations
from gate.suites.build import build_suite
from gate.suites.catalog import find_suite, list_suites
from tests.suites.conftest import spec_dict, write_spec


def test_suites_roots_is_a_path_list(monkeypatch, tmp_path):
    monkeypatch.setenv("TSRGATE_SUITES", os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]))
    assert locations.suites_roots() == [tmp_path / "a", tmp_path / "b"]
    assert locations.suites_root() == tmp_path / "a"  # where new suites are built
    assert locations.suites_roots(tmp_path / "c") == [tmp_path / "c"]
    monkeypatch.delenv("TSRGATE_SUITES")
    assert locations.suites_roots() == [locations.repo_root() / "suites"]


def test_suites_are_found_and_listed_in_every_root(tiny_dataset, tmp_path, roots):
    first, second = roots["suites"], tmp_path / "second"
    build_suite(write_spec(tmp_path / "a.yaml", spec_dict(tiny_dataset, name="in-first", transforms=[])))
    build_suite(write_spec(tmp_path / "b.yaml", spec_dict(tiny_dataset, name="in-second", transforms=[])),
                suites=second)
    both = os.pathsep.join([str(first), str(second)])
    assert find_suite("in-second", suites=both) == second / "in-second" / "1"
    assert find_suite("in-first", suites=both) == first / "in-first" / "1"
    assert [s.name for s in list_suites(suites=both)] == ["in-first", "in-second"]
    shutil.copytree(second / "in-second", first / "in-second")
    with pytest.raises(InputError, match="more than one suites root"):
        find_suite("in-second", suites=both)


def test_relative_dataset_path_is_relative_to_the_spec_and_recorded_relative(tiny_dataset, tmp_path, roots, monkeypatch):
    spec_dir = tmp_path / "packs" / "specs"
    relative = os.path.relpath(tiny_dataset, spec_dir)
    spec = write_spec(spec_dir / "pack.yaml", spec_dict(tiny_dataset, name="rel-pack", transforms=[],
                                                        source={"dataset": relative}))
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the working directory plays no part (restored after the test)
    report = build_suite(spec)
    manifest = json.loads(report.manifest_path.read_text())
    recorded = manifest["source"]["dataset"]
    assert not Path(recorded).is_absolute()
    assert (report.manifest_path.parent / recorded).resolve() == tiny_dataset.resolve()
    assert str(tmp_path) not in report.manifest_path.read_text()


def test_an_absolute_dataset_path_is_recorded_relative_to_the_manifest(tiny_dataset, tmp_path):
    report = build_suite(write_spec(tmp_path / "abs.yaml", spec_dict(tiny_dataset, name="abs-pack", transforms=[])))
    recorded = json.loads(report.manifest_path.read_text())["source"]["dataset"]
    assert not Path(recorded).is_absolute()
    assert (report.manifest_path.parent / recorded).resolve() == tiny_dataset.resolve()


def test_an_absent_dataset_folder_is_one_line_naming_the_variable(tmp_path):
    spec = write_spec(tmp_path / "gone.yaml", spec_dict(tmp_path / "nowhere", name="gone", transforms=[],
                                                       source={"dataset": "../nowhere", "env": "TSRGATE_NOWHERE"}))
    with pytest.raises(InputError, match="dataset folder not found \\(set TSRGATE_NOWHERE or pass --data\\)"):
        build_suite(spec)


def test_an_incomplete_dataset_folder_names_the_missing_image(tiny_dataset, tmp_path):
    from gate.suites import open_suite

    build_suite(write_spec(tmp_path / "inc.yaml", spec_dict(tiny_dataset, name="inc", transforms=[])))
    (tiny_dataset / "images" / "tiny_005.png").unlink()
    with pytest.raises(InputError, match="source image not found") as info:
        open_suite("inc")
    assert info.value.path.endswith("tiny_005.png")


@pytest.mark.parametrize("command", [("suite", "build"), ("suite", "list"), ("run",), ("measure",), ("report",)])
def test_every_command_that_looks_up_suites_takes_a_path_list(run_cli, command):
    text = " ".join(run_cli(*command, "--help").output.split())
    assert "--suites-dir" in text and "path list" in text


def test_measuring_on_italy_without_the_data_is_one_line_exit_2(run_cli, monkeypatch, tmp_path):
    monkeypatch.setenv("TSRGATE_ITALY", str(tmp_path / "no-italy-here"))
    result = run_cli("measure", locations.repo_root() / "models" / "gtsdb-v1", "--suite", "italy-small",
                     "--suites-dir", locations.repo_root() / "suites")
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("error")]
    assert errors == [f"error: {tmp_path / 'no-italy-here'}: dataset folder not found "
                      "(set TSRGATE_ITALY or pass --data)"]
