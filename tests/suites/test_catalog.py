"""Finding and listing suites."""

from __future__ import annotations

import pytest

from gate.errors import InputError
from gate.suites.build import build_suite
from gate.suites.catalog import find_suite, list_suites
from tests.suites.conftest import spec_dict, write_spec


def test_list_shows_counts_source_and_cache(make_spec, roots):
    built = build_suite(make_spec())
    build_suite(make_spec(name="tiny-clean", transforms=[]))
    (built.render_dir / "0000005.png").unlink()
    listings = {s.name: s for s in list_suites()}
    night = listings["tiny-night"]
    assert (night.status, night.images, night.boxes, night.ignore_regions) == ("built", 4, 8, 1)
    assert night.transforms == ["night:3"] and night.source_present is True
    assert (night.rendered_cached, night.rendered_needed) == (3, 4)
    assert night.manifest_sha256 == built.manifest_sha256
    assert listings["tiny-clean"].rendered_needed == 0


def test_list_reports_a_spec_that_is_not_built(roots, tiny_dataset):
    write_spec(roots["suites"] / "later" / "1" / "spec.yaml", spec_dict(tiny_dataset, name="later"))
    assert [(s.name, s.status) for s in list_suites()] == [("later", "not built")]


def test_find_latest_version_explicit_version_and_paths(make_spec, roots, tmp_path, tiny_dataset):
    build_suite(make_spec())
    build_suite(write_spec(tmp_path / "v2.yaml", spec_dict(tiny_dataset, version=2, seed=8)))
    build_suite(write_spec(tmp_path / "v10.yaml", spec_dict(tiny_dataset, version=10, seed=9)))
    assert find_suite("tiny-night").name == "10"  # numeric, not text, order
    assert find_suite("tiny-night", "2").name == "2"
    folder = roots["suites"] / "tiny-night" / "2"
    assert find_suite(folder) == folder
    assert find_suite(folder / "manifest.json") == folder


def test_unknown_suite_lists_the_known_ones(make_spec, roots):
    build_suite(make_spec())
    with pytest.raises(InputError, match=r"no suite named 'nightt' \(known: tiny-night\)"):
        find_suite("nightt")
    with pytest.raises(InputError, match="has no version 7"):
        find_suite("tiny-night", "7")
