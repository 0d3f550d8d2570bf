"""Shards: whole runner batches, in manifest order, covering every image once."""

from __future__ import annotations

import pytest

from gate.errors import InputError
from gate.run.executors import default_shard_images, make_executor, plan_shards


@pytest.mark.parametrize(
    ("images", "batch_size", "shard_images", "sizes"),
    [
        (10, 4, 8, [8, 2]),
        (10, 4, 5, [8, 2]),  # rounded up to whole batches
        (10, 4, 1, [4, 4, 2]),  # never less than one batch
        (8, 4, 8, [8]),
        (45, 4, 8, [8, 8, 8, 8, 8, 5]),
        (3, 1, 1, [1, 1, 1]),
        (0, 4, 8, []),
    ],
)
def test_shards_are_whole_batches_in_manifest_order(images, batch_size, shard_images, sizes):
    ids = [100 + 7 * i for i in range(images)]  # ids need not be contiguous
    shards = plan_shards(ids, batch_size, shard_images)
    assert [len(s.image_ids) for s in shards] == sizes
    assert [s.index for s in shards] == list(range(len(sizes)))
    assert [i for s in shards for i in s.image_ids] == ids
    # Every shard starts on an in-process batch boundary, so every batch is the in-process batch.
    starts = [ids.index(s.image_ids[0]) for s in shards]
    assert all(start % batch_size == 0 for start in starts)


def test_shard_description_names_its_image_ids():
    [first, second] = plan_shards([3, 4, 5, 9, 11], batch_size=2, shard_images=4)
    assert first.describe() == "shard 0 (image ids 3..9, 4 images)"
    assert second.describe() == "shard 1 (image ids 11..11, 1 images)"


@pytest.mark.parametrize(
    ("images", "batch_size", "workers", "expected"),
    [(45, 4, 2, 8), (45, 4, 1, 12), (7, 4, 2, 4), (1000, 8, 16, 16), (3, 4, 8, 4)],
)
def test_default_shard_size_is_about_four_shards_per_worker(images, batch_size, workers, expected):
    assert default_shard_images(images, batch_size, workers) == expected


def test_non_positive_sizes_are_refused():
    with pytest.raises(ValueError, match="must be positive"):
        plan_shards([1, 2], batch_size=0, shard_images=4)


def test_ray_options_without_ray_executor_are_an_input_error():
    with pytest.raises(InputError, match="--address, --workers only apply with --executor ray"):
        make_executor("inprocess", address="head:6379", workers=2)
    with pytest.raises(InputError, match="unknown executor 'dask'"):
        make_executor("dask")


def test_ray_executor_without_ray_installed_says_how_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail as if it were not installed
    with pytest.raises(InputError, match=r"Ray is not installed .*pip install 'tsrgate\[ray\]'"):
        make_executor("ray", workers=2)


def test_cli_refuses_ray_options_with_the_inprocess_executor(run_cli, tmp_path):
    result = run_cli("run", tmp_path / "model", "--suites", "clean", "--out", tmp_path / "out", "--workers", "2")
    assert result.exit_code == 2
    assert "--workers only apply with --executor ray" in result.output
    assert not (tmp_path / "out").exists()
