"""The generated traffic-sign world: tsrgate's embedded default dataset (`tsrgate data synth`).

Public API:
- `WORLD_VERSION`: bumped whenever rendering or annotation changes; suites pin it.
- `SYNTH_CLASSES`: the ordered sign classes (COCO category ids 1..N) with family, supercategory, region.
- `generate_world(out, images, seed, force=False)`: write a dataset folder (images/ + annotations.json).
- `render_scene(seed, index)`: render one image in memory (pixels, tags, signs, occluder mask).
- `plan_scene(seed, index)`: the same image's tags and sign placements without painting (fast).
- `paint_occluder` / `box_fraction`: the occluders and the coverage measure, for reuse by transforms.
"""

from gate.data.synth.classes import SYNTH_CLASSES, SignClass, synth_categories
from gate.data.synth.occluders import OCCLUDER_KINDS, OccluderPatch, box_fraction, paint_occluder
from gate.data.synth.world import (
    CONDITIONS,
    DEFAULT_HEIGHT,
    DEFAULT_WIDTH,
    GENERATOR,
    SAME_SCENES_VERSIONS,
    WORLD_VERSION,
    ScenePlan,
    SynthScene,
    SynthSign,
    generate_world,
    plan_scene,
    render_scene,
    split_for_index,
)

__all__ = [
    "CONDITIONS",
    "DEFAULT_HEIGHT",
    "DEFAULT_WIDTH",
    "GENERATOR",
    "OCCLUDER_KINDS",
    "SYNTH_CLASSES",
    "SAME_SCENES_VERSIONS",
    "WORLD_VERSION",
    "OccluderPatch",
    "ScenePlan",
    "SignClass",
    "SynthScene",
    "SynthSign",
    "box_fraction",
    "generate_world",
    "paint_occluder",
    "plan_scene",
    "render_scene",
    "split_for_index",
    "synth_categories",
]
