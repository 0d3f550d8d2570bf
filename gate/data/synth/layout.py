"""Where signs go: classes, sizes, positions on poles, stacking and border truncation.

Sizes are drawn log-uniformly between `MIN_SIGN_PX` and `MAX_SIGN_PX` (longer side), so about a
quarter of the signs are under 16 px. A sign's size fixes its distance (a real sign is ~0.8 m), and
the distance fixes where it stands beside the road and how high it is mounted; large (near) signs
that would fall outside the frame are pulled in, except for the few that are deliberately cut by the
border (truncation). Placements never overlap each other's sign or pole.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gate.data.synth.classes import SYNTH_CLASSES, classes_for_region, same_family
from gate.data.synth.scene import RoadLayout
from gate.data.synth.signs import sign_face
from gate.data.synth.warp import SignPose

MIN_SIGN_PX = 9.0
MAX_SIGN_PX = 120.0
SIGN_METRES = 0.8  # physical longer side of a sign face
SIGNS_PER_IMAGE = (1, 2, 3, 4, 5, 6)
_SIGNS_PER_IMAGE_P = (0.17, 0.24, 0.23, 0.16, 0.11, 0.09)
_P_STACKED = 0.2  # a second sign on the same pole, below the first
_P_LOOKALIKE = 0.3  # a later sign in the image repeats an earlier one's family (30 next to 80)
_P_TRUNCATED = 0.08
_P_LEFT_SIDE = 0.25
_MAX_TRUNCATION = 0.55


@dataclass(frozen=True)
class SignPlacement:
    """One sign to draw: its class, pose, distance and pole, plus its per-sign appearance."""

    class_index: int
    pose: SignPose
    distance: float  # metres from the camera (fog and night lighting use it)
    pole: tuple[float, float, float, float] | None  # x0, y0, x1, y1 in pixels, drawn behind the sign
    gain: float  # brightness of this sign (paint age, sun angle)
    fade: float  # 0..1 loss of saturation (sun-bleached paint)
    blur: float  # extra blur radius in pixels (far signs, focus)


def _face_extent(class_index: int, longer_side: float, squash: float) -> tuple[float, float]:
    face = sign_face(class_index)
    scale = longer_side / max(face.width, face.height)
    return face.width * scale * squash, face.height * scale


def _overlaps(a, b, margin: float = 2.0) -> bool:
    return not (a[2] + margin <= b[0] or b[2] + margin <= a[0] or a[3] + margin <= b[1] or b[3] + margin <= a[1])


def _pick_class(rng: np.random.Generator, region: str, earlier: list[int]) -> int:
    pool = classes_for_region(region)
    if earlier and rng.random() < _P_LOOKALIKE:
        lookalikes = [i for i in same_family(earlier[int(rng.integers(len(earlier)))]) if i in pool]
        if lookalikes:
            return int(lookalikes[int(rng.integers(len(lookalikes)))])
    weights = np.array([SYNTH_CLASSES[i].weight for i in pool], dtype=np.float64)
    return int(pool[int(rng.choice(len(pool), p=weights / weights.sum()))])


def _appearance(rng: np.random.Generator, size: float) -> tuple[float, float, float]:
    gain = float(rng.uniform(0.72, 1.12))
    fade = float(rng.uniform(0.0, 0.35)) if rng.random() < 0.3 else 0.0
    blur = float(rng.uniform(0.2, 0.7)) if size < 24 and rng.random() < 0.6 else float(rng.uniform(0.0, 0.3))
    return gain, fade, blur


@dataclass(frozen=True)
class _Candidate:
    """The random draws for one pole (with one or two signs), before fitting it into the frame."""

    class_index: int
    size: float
    lateral: float
    mount: float
    squash_pull: float
    keystone: float
    rotation: float
    truncate: bool
    truncation_side: int  # 0 left, 1 right, 2 top
    truncation: float
    stacked_class: int | None  # a second, different plate below the first
    stacked_scale: float
    appearance: tuple[tuple[float, float, float], tuple[float, float, float]]


def _draw_candidate(rng: np.random.Generator, road: RoadLayout, region: str, earlier: list[int]) -> _Candidate:
    class_index = _pick_class(rng, region, earlier)
    size = float(math.exp(rng.uniform(math.log(MIN_SIGN_PX), math.log(MAX_SIGN_PX))))
    side = -1 if rng.random() < _P_LEFT_SIDE else 1
    edge = road.road_edges[1] if side > 0 else road.road_edges[0]
    lateral = edge + side * float(rng.uniform(0.4, 2.5))
    mount = float(rng.uniform(1.9, 2.7))
    squash_pull = float(rng.uniform(0.2, 0.9))
    keystone = float(np.clip(rng.normal(0, 0.04), -0.1, 0.1))
    rotation = float(np.clip(rng.normal(0, 2.0), -7, 7))
    truncate = bool(rng.random() < _P_TRUNCATED)
    truncation_side = int(rng.integers(3))
    truncation = float(rng.uniform(0.08, _MAX_TRUNCATION))
    stacked = rng.random() < _P_STACKED
    stacked_class = _pick_class(rng, region, earlier + [class_index])
    stacked_scale = float(rng.uniform(0.85, 1.0))
    appearance = (_appearance(rng, size), _appearance(rng, size))
    # Two equal plates on one pole look wrong; a sign cut by the top border has nothing above the pole.
    keep_stack = stacked and stacked_class != class_index and not (truncate and truncation_side == 2)
    return _Candidate(class_index, size, lateral, mount, squash_pull, keystone, rotation, truncate,
                      truncation_side, truncation, stacked_class if keep_stack else None, stacked_scale, appearance)


def _fit_candidate(c: _Candidate, road: RoadLayout) -> tuple[list[SignPlacement], list[tuple]]:
    """Project the candidate into the frame: its placements and the boxes it occupies (signs, pole)."""
    geo = road.geometry
    width, height = geo.width, geo.height
    distance = geo.focal * SIGN_METRES / c.size
    cx, cy = geo.project(c.lateral, distance, c.mount)
    _, ground_y = geo.project(c.lateral, distance, 0.0)
    # Signs turn towards the traffic, so the view angle foreshortens them only partly.
    squash = max(0.72, math.cos(math.atan2(abs(c.lateral), distance) * c.squash_pull))
    w, h = _face_extent(c.class_index, c.size, squash)
    # Near (large) signs would stand outside the frame; pull them in, unless this one is to be cut.
    cx = float(np.clip(cx, w / 2 + 2, width - w / 2 - 2))
    cy = float(np.clip(cy, h / 2 + 2, height - h / 2 - 2))
    if c.truncate:
        if c.truncation_side == 0:
            cx = -c.truncation * w + w / 2
        elif c.truncation_side == 1:
            cx = width + c.truncation * w - w / 2
        else:
            cy = -c.truncation * h + h / 2
    plates = [(c.class_index, c.size, cy, (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))]
    if c.stacked_class is not None:
        s2 = c.size * c.stacked_scale
        w2, h2 = _face_extent(c.stacked_class, s2, squash)
        cy2 = plates[0][3][3] + 0.06 * c.size + h2 / 2
        box2 = (cx - w2 / 2, cy2 - h2 / 2, cx + w2 / 2, cy2 + h2 / 2)
        if box2[3] < height - 2 and (c.truncate or box2[0] >= 2 and box2[2] <= width - 2):
            plates.append((c.stacked_class, s2, cy2, box2))
    pole_w = max(1.0, geo.metres_to_pixels(0.07, distance))
    ground_y = max(ground_y, plates[-1][3][3] + 0.5 * c.size)
    pole = (cx - pole_w / 2, cy, cx + pole_w / 2, min(float(height), ground_y))
    placements = [
        SignPlacement(ci, SignPose(cx, y, s, squash, c.keystone, c.rotation), distance, pole if k == 0 else None,
                      *c.appearance[k])
        for k, (ci, s, y, _) in enumerate(plates)
    ]
    return placements, [p[3] for p in plates] + [pole]


def plan_signs(rng: np.random.Generator, road: RoadLayout, region: str) -> list[SignPlacement]:
    """Choose 1-6 signs for the scene; returned far to near (the order they are drawn in)."""
    target = int(rng.choice(SIGNS_PER_IMAGE, p=_SIGNS_PER_IMAGE_P))
    occupied: list[tuple] = []
    placed: list[SignPlacement] = []
    attempts = 0
    while len(placed) < target and attempts < target * 8:
        attempts += 1
        candidate = _draw_candidate(rng, road, region, [p.class_index for p in placed])
        placements, footprint = _fit_candidate(candidate, road)
        if any(_overlaps(a, b) for a in footprint for b in occupied):
            continue
        if len(placed) + len(placements) > SIGNS_PER_IMAGE[-1]:
            placements, footprint = placements[:1], footprint[:1] + footprint[-1:]
        occupied.extend(footprint)
        placed.extend(placements)
    placed.sort(key=lambda p: -p.distance)
    return placed
