"""Tiling wide street panoramas (the Italy frames: mostly 1919x590, others up to 2000x1000) and batches of
mixed sizes: every pixel is covered at native resolution, every sign fits whole in some tile, and boxes map
back to the right frame and position."""

from __future__ import annotations

import numpy as np
import pytest

from gate.backends.preprocess import plan_inputs, preprocess
from gate.cards.card import load_card
from gate import locations

GTSDB_V1 = load_card(locations.repo_root() / "models" / "gtsdb-v1", verify_weights=False).preprocessing


def _image(height: int, width: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize("size, grid", [((590, 1919), (3, 9)), ((580, 1919), (3, 9)), ((1000, 1400), (5, 6)),
                                        ((600, 2000), (3, 9)), ((100, 200), (1, 1))])
def test_every_pixel_is_covered_and_every_sign_fits_in_a_tile(size, grid):
    height, width = size
    plans = plan_inputs(0, size, GTSDB_V1)
    assert len(plans) == grid[0] * grid[1]
    covered = np.zeros(size, bool)
    for plan in plans:
        x0, y0, x1, y1 = plan.window
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
        covered[y0:y1, x0:x1] = True
    assert covered.all()
    # A sign up to the overlap (96 px) lies wholly inside at least one tile, wherever it is.
    side = GTSDB_V1.tile_overlap
    for x in range(0, max(1, width - side), 37):
        for y in range(0, max(1, height - side), 29):
            assert any(p.window[0] <= x and x + side <= p.window[2] and p.window[1] <= y and y + side <= p.window[3]
                       for p in plans), (x, y)


def test_a_batch_of_mixed_sizes_keeps_frames_apart():
    images = [_image(590, 1919, 1), _image(1000, 1400, 2), _image(100, 200, 3)]
    batch = preprocess(images, [11, 12, 13], GTSDB_V1)
    assert batch.source_sizes == [(590, 1919), (1000, 1400), (100, 200)]
    assert batch.pixel_values.shape == (27 + 30 + 1, 3, 320, 320)
    for row, plan in enumerate(batch.geometry):
        image = images[plan.source_index]
        x0, y0, x1, y1 = plan.window
        tile = batch.pixel_values[row].transpose(1, 2, 0)
        # native pixels, no resampling; the part beyond the frame is padding
        np.testing.assert_allclose(tile[: y1 - y0, : x1 - x0], image[y0:y1, x0:x1] / 255, atol=1e-6)
        assert float(np.abs(tile[y1 - y0:, :]).max(initial=0)) == 0.0
        # a box in the tile maps back to the same pixels of its own frame
        back = plan.to_source(np.asarray([[0.25, 0.5, 0.5, 0.75]], dtype=np.float32))[0]
        np.testing.assert_allclose(back, [x0 + 80, y0 + 160, x0 + 160, y0 + 240], atol=1e-3)
    last_row_of_panorama = max(i for i, g in enumerate(batch.geometry) if g.source_index == 0)
    assert batch.geometry[last_row_of_panorama].window == (1599, 270, 1919, 590)


def test_every_italy_frame_size_is_tiled_without_gaps(italy_path):
    from gate.data.coco import load_coco

    sizes = {(img.height, img.width) for img in load_coco(italy_path / "annotations.json").images}
    assert len(sizes) > 1  # the set really has variable sizes
    for size in sizes:
        covered = np.zeros(size, bool)
        for plan in plan_inputs(0, size, GTSDB_V1):
            x0, y0, x1, y1 = plan.window
            covered[y0:y1, x0:x1] = True
        assert covered.all(), size
