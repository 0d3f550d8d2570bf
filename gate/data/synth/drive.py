"""Drives: short camera sequences along a straight road past signs at known positions.

A drive is the generated world seen from a moving car: the camera advances `speed` metres per
second, one frame every 1/fps seconds, and the signs stand beside the road at fixed positions, so
each physical sign is one *track* whose box grows with perspective from a few pixels until it leaves
the view at the side of the frame. Parked trucks stand between some signs and the camera and hide
them for some frames. Speed-limit signs change the limit in force when the car passes them, and an
end-of-limit sign lifts it.

Everything of drive `d` of a set with seed `s` comes from `np.random.SeedSequence([s, d])`, so
drives render in any order with byte-identical results. The output is a COCO dataset folder like
the world's, with what a sequence suite needs as plain tags and attributes:

- image tags: `drive` (text id), `frame` (0, 1, ... in file order), `fps`, `speed_mps`,
  `odometer_m` (metres driven since the drive's first frame), `speed_limit` (km/h in force; 0 = no
  posted limit after an end-of-limit sign; -1 = not known yet: no limit sign passed in this drive);
- annotation attributes: `track_id` (one per physical sign within its drive), `distance_m` (from
  the camera to the sign along the road), `ahead` (the sign is in front of the camera), `occluded`;
- `info.drives`: per drive its id, fps, speed and frame count.

The background of a drive is painted once (the road is straight and its clutter is far from the
signs), the signs, poles and trucks are drawn per frame in depth order.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageDraw

from gate.data.coco import CocoAnnotation, CocoCategory, CocoDataset, CocoImage, save_coco
from gate.data.dataset import ANNOTATIONS_FILE, IMAGES_DIR
from gate.data.synth.classes import SYNTH_CLASSES, category_id, classes_for_region, synth_categories
from gate.data.synth.layout import SIGN_METRES, SignPlacement
from gate.data.synth.scene import RoadLayout, SceneCanvas, make_road, paint_background
from gate.data.synth.signs import FACE_SIZE, sign_face
from gate.data.synth.warp import SignPose, warp_sign
from gate.data.synth.weather import LightingInputs, apply_camera, apply_lighting
from gate.data.synth.world import _composite_sign, _draw_pole, _round, encode_jpeg
from gate.errors import InputError
from gate.storage import staged_dir

# Bump whenever anything that changes a drive's pixels or annotations changes (drive suites pin it).
DRIVE_VERSION = "2"  # 2: rendered by world v2 (gate.data.portable_math), so every pixel follows WORLD_VERSION
DRIVE_GENERATOR = "tsrgate.data.synth.drive"
END_OF_LIMIT = "end_of_speed_limit"
END_OF_LIMIT_CATEGORY_ID = len(SYNTH_CLASSES) + 1  # appended after the world's classes
MIN_SIGN_PX = 6.0  # a sign further away than this size is not drawn (nor annotated)
MIN_VISIBLE = 0.3  # a sign less visible than this (occluded or cut by the border) is not annotated
UNKNOWN_LIMIT = -1
NO_LIMIT = 0
_EU_LIMITS = (30, 50, 60, 80, 100, 120)
_US_LIMITS = (25, 35, 55, 65)
_TRUCK_GREY = np.array([196, 198, 202], np.float32)


def drive_categories() -> list[CocoCategory]:
    """The world's categories plus the end-of-limit sign, which only drives contain."""
    return synth_categories() + [CocoCategory(id=END_OF_LIMIT_CATEGORY_ID, name=END_OF_LIMIT,
                                              supercategory="other", family="end_of_limit", region="eu")]


@lru_cache(maxsize=1)
def end_of_limit_face() -> Image.Image:
    """White disc, thin grey edge, five black diagonal stripes (premultiplied 'RGBa', FACE_SIZE)."""
    big = FACE_SIZE * 2
    face = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(face)
    draw.ellipse([0, 0, big - 1, big - 1], fill=(120, 120, 120, 255))
    inset = 0.02 * big
    draw.ellipse([inset, inset, big - 1 - inset, big - 1 - inset], fill=(244, 244, 240, 255))
    mask = Image.new("L", (big, big), 0)
    ImageDraw.Draw(mask).ellipse([inset, inset, big - 1 - inset, big - 1 - inset], fill=255)
    stripes = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    sd = ImageDraw.Draw(stripes)
    for k in range(-2, 3):
        off = k * 0.07 * big
        sd.line([(0.15 * big + off, 0.85 * big + off), (0.85 * big + off, 0.15 * big + off)],
                fill=(22, 22, 24, 255), width=max(1, round(0.025 * big)))
    face.paste(stripes, (0, 0), Image.composite(stripes.getchannel("A"), Image.new("L", (big, big), 0), mask))
    return face.convert("RGBa").reduce(2)


def _face(category: int) -> Image.Image:
    return end_of_limit_face() if category == END_OF_LIMIT_CATEGORY_ID else sign_face(category - 1)


def limit_value(name: str) -> int | None:
    """The km/h (or mph) a speed-limit class name posts, NO_LIMIT for end-of-limit, None otherwise."""
    if name == END_OF_LIMIT:
        return NO_LIMIT
    for prefix in ("us_speed_limit_", "speed_limit_"):
        if name.startswith(prefix) and name[len(prefix):].isdigit():
            return int(name[len(prefix):])
    return None


@dataclass(frozen=True)
class DriveSettings:
    """What a drive set is made of (the `drives:` source of a sequence suite spec)."""

    drives: int
    frames: int
    fps: float
    seed: int
    width: int = 384
    height: int = 256
    region: str = "eu"
    speed_kmh: tuple[float, float] = (40.0, 70.0)


@dataclass(frozen=True)
class RoadSign:
    """One physical sign of a drive: where it stands and how it looks."""

    track_id: int
    category_id: int
    position: float  # metres from the drive's start along the road
    lateral: float  # metres right (+) of the camera
    mount: float  # height of the sign's centre above the ground
    gain: float
    keystone: float
    rotation: float


@dataclass(frozen=True)
class Truck:
    """A parked truck (box) that hides the signs behind it for some frames."""

    position: float
    lateral: float
    width: float
    height: float
    color: tuple[float, float, float]


@dataclass(frozen=True)
class DrivePlan:
    """A drive decided before any pixel is painted."""

    index: int
    drive_id: str
    speed_mps: float
    road: RoadLayout
    signs: list[RoadSign]
    trucks: list[Truck]


def _sign_classes(region: str) -> tuple[list[int], list[int], np.ndarray]:
    """(speed-limit category ids, other category ids, weights of the others) for a region."""
    pool = classes_for_region(region)
    limits = [category_id(i) for i in pool if limit_value(SYNTH_CLASSES[i].name) is not None]
    others = [i for i in pool if limit_value(SYNTH_CLASSES[i].name) is None]
    weights = np.array([SYNTH_CLASSES[i].weight for i in others], np.float64)
    return limits, [category_id(i) for i in others], weights / weights.sum()


def plan_drive(settings: DriveSettings, index: int) -> DrivePlan:
    """Road, speed, signs and trucks of drive `index` (cheap; `render_frame` uses exactly this)."""
    rng = np.random.default_rng(np.random.SeedSequence([settings.seed, index]))
    road = make_road(rng, settings.width, settings.height)
    road = dataclasses.replace(road, geometry=dataclasses.replace(road.geometry, curvature=0.0))
    speed = float(rng.uniform(*settings.speed_kmh)) / 3.6
    length = speed * (settings.frames - 1) / settings.fps
    far = road.geometry.focal * SIGN_METRES / MIN_SIGN_PX  # where a sign becomes visible
    limits, others, weights = _sign_classes(settings.region)
    signs: list[RoadSign] = []
    in_force: int | None = None
    position = float(rng.uniform(1.0, 1.3) * far)  # the first sign comes into view after the start
    while position < length + 6.0:
        r = rng.random()
        if r < 0.5:
            choices = [c for c in limits if limit_value(SYNTH_CLASSES[c - 1].name) != in_force]
            category = int(choices[int(rng.integers(len(choices)))])
            in_force = limit_value(SYNTH_CLASSES[category - 1].name)
        elif r < 0.6 and settings.region == "eu" and in_force not in (None, NO_LIMIT):
            category, in_force = END_OF_LIMIT_CATEGORY_ID, NO_LIMIT
        else:
            category = int(others[int(rng.choice(len(others), p=weights))])
        side = -1 if rng.random() < 0.15 else 1
        edge = road.road_edges[1] if side > 0 else road.road_edges[0]
        signs.append(RoadSign(
            track_id=len(signs) + 1, category_id=category, position=position,
            lateral=edge + side * float(rng.uniform(0.5, 1.8)), mount=float(rng.uniform(1.9, 2.5)),
            gain=float(rng.uniform(0.8, 1.1)), keystone=float(np.clip(rng.normal(0, 0.03), -0.08, 0.08)),
            rotation=float(np.clip(rng.normal(0, 1.5), -5, 5)),
        ))
        position += float(rng.uniform(10.0, 24.0))
    trucks = []
    for sign in signs:
        if sign.lateral > 0 and rng.random() < 0.3:  # a truck parked at the kerb, some metres before the sign
            width = float(rng.uniform(2.2, 2.5))
            # Parked on the shoulder, beside the road edge: it hides the sign behind it, never the lane.
            trucks.append(Truck(position=sign.position - float(rng.uniform(6.0, 14.0)),
                                lateral=road.road_edges[1] + float(rng.uniform(0.2, 0.5)) + width / 2,
                                width=width, height=float(rng.uniform(2.6, 3.4)),
                                color=tuple(float(v) for v in _TRUCK_GREY * rng.uniform(0.6, 1.1, size=3))))
    return DrivePlan(index, f"d{index:04d}", speed, road, signs, trucks)


def limit_in_force(plan: DrivePlan, odometer: float) -> int:
    """The limit posted by the last limit (or end-of-limit) sign the car has passed."""
    value = UNKNOWN_LIMIT
    for sign in plan.signs:
        posted = limit_value(_category_name(sign.category_id))
        if posted is not None and sign.position <= odometer:
            value = posted
    return value


def _category_name(cid: int) -> str:
    return END_OF_LIMIT if cid == END_OF_LIMIT_CATEGORY_ID else SYNTH_CLASSES[cid - 1].name


@dataclass(frozen=True)
class FrameSign:
    """A sign as annotated in one frame."""

    track_id: int
    category_id: int
    bbox: tuple[float, float, float, float]  # x, y, w, h clipped to the frame
    distance: float
    occluded: float


def _truck_box(geo, truck: Truck, distance: float) -> tuple[float, float, float, float]:
    x0, y0 = geo.project(truck.lateral - truck.width / 2, distance, truck.height)
    x1, y1 = geo.project(truck.lateral + truck.width / 2, distance, 0.0)
    return x0, y0, x1, y1


def _overlap_fraction(box, cover) -> float:
    w = max(0.0, min(box[2], cover[2]) - max(box[0], cover[0]))
    h = max(0.0, min(box[3], cover[3]) - max(box[1], cover[1]))
    area = max(1e-9, (box[2] - box[0]) * (box[3] - box[1]))
    return w * h / area


def render_frame(plan: DrivePlan, background: SceneCanvas, frame: int, fps: float,
                 rng: np.random.Generator) -> tuple[np.ndarray, list[FrameSign]]:
    """Pixels and annotated signs of one frame (the background canvas is copied, not changed)."""
    geo = plan.road.geometry
    width, height = geo.width, geo.height
    odometer = plan.speed_mps * frame / fps
    canvas = SceneCanvas(geo, background.image.copy(), background.depth.copy(), background.sky, background.lights,
                         background.road_mask)
    sign_cover = np.zeros((height, width), np.float32)
    # Far to near: signs and trucks in one depth order, so nearer things cover farther ones.
    items: list[tuple[float, str, object]] = []
    for sign in plan.signs:
        d = sign.position - odometer
        if d > 0.5 and geo.focal * SIGN_METRES / d >= MIN_SIGN_PX:
            items.append((d, "sign", sign))
    for truck in plan.trucks:
        d = truck.position - odometer
        if d > 1.0:
            items.append((d, "truck", truck))
    items.sort(key=lambda item: -item[0])
    drawn: list[tuple[RoadSign, float, tuple[float, float, float, float]]] = []
    covers: list[tuple[float, tuple[float, float, float, float]]] = []
    for d, kind, thing in items:
        if kind == "truck":
            box = _truck_box(geo, thing, d)
            x0, y0, x1, y1 = (max(0, int(box[0])), max(0, int(box[1])), min(width, int(math.ceil(box[2]))),
                              min(height, int(math.ceil(box[3]))))
            if x1 > x0 and y1 > y0:
                canvas.image[y0:y1, x0:x1] = np.array(thing.color, np.float32)
                canvas.image[y0:y1, x0:min(x1, x0 + 2)] *= 0.7  # a shaded edge
                wheels = max(y0, int(box[3] - geo.metres_to_pixels(0.7, d)))  # dark chassis and wheels
                canvas.image[wheels:y1, x0:x1] = np.array([34, 34, 38], np.float32)
                canvas.depth[y0:y1, x0:x1] = d
                sign_cover[y0:y1, x0:x1] = 0.0
                covers.append((d, box))
            continue
        sign = thing
        size = geo.focal * SIGN_METRES / d
        cx, cy = geo.project(sign.lateral, d, sign.mount)
        _, ground = geo.project(sign.lateral, d, 0.0)
        squash = max(0.6, math.cos(math.atan2(abs(sign.lateral), d) * 0.6))
        pole_w = max(1.0, geo.metres_to_pixels(0.07, d))
        _draw_pole(canvas, (cx - pole_w / 2, cy, cx + pole_w / 2, min(float(height), ground)), d)
        pose = SignPose(cx, cy, size, squash, sign.keystone, sign.rotation)
        warped = warp_sign(_face(sign.category_id), pose)
        placement = SignPlacement(sign.category_id - 1, pose, d, None, sign.gain, 0.0, 0.0)
        _composite_sign(canvas, sign_cover, warped, placement)
        drawn.append((sign, d, warped.box))
    annotated = []
    for sign, d, full in drawn:
        box = (max(0.0, full[0]), max(0.0, full[1]), min(float(width), full[2]), min(float(height), full[3]))
        full_area = (full[2] - full[0]) * (full[3] - full[1])
        if box[2] - box[0] < 1.0 or box[3] - box[1] < 1.0 or full_area <= 0:
            continue
        inside = (box[2] - box[0]) * (box[3] - box[1]) / full_area
        occluded = max((_overlap_fraction(box, cover) for cd, cover in covers if cd < d), default=0.0)
        if inside * (1.0 - occluded) < MIN_VISIBLE:
            continue
        annotated.append(FrameSign(sign.track_id, sign.category_id, (box[0], box[1], box[2] - box[0], box[3] - box[1]),
                                   d, occluded))
    inputs = LightingInputs(depth=canvas.depth, sky=canvas.sky & (canvas.depth >= 999.0), signs=sign_cover,
                            road=canvas.road_mask, lights=canvas.lights)
    image = apply_lighting(rng, canvas.image, "day", inputs)
    return apply_camera(rng, image, "day"), annotated


def iter_drive_frames(settings: DriveSettings, index: int):
    """(plan, frame, pixels, annotated signs) for every frame of drive `index`, in order (the camera noise
    of a frame depends on the frames before it, so a drive is always rendered from its first frame)."""
    plan = plan_drive(settings, index)
    streams = np.random.SeedSequence([settings.seed, index, 1]).spawn(2)
    background = paint_background(np.random.default_rng(streams[0]), plan.road, "day", "clear", settings.region)
    effects = np.random.default_rng(streams[1])
    for f in range(settings.frames):
        pixels, signs = render_frame(plan, background, f, settings.fps, effects)
        yield plan, f, pixels, signs


def drive_frame_name(drive: int, frame: int) -> str:
    return f"drive_{drive:04d}_{frame:03d}.jpg"


def generate_drives(out: Path, settings: DriveSettings, force: bool = False) -> Path:
    """Render every frame of every drive into the dataset folder `out` (images/ + annotations.json).

    Refuses an existing non-empty `out` unless `force`; the folder appears only when complete.
    """
    out = Path(out)
    if settings.drives < 1 or settings.frames < 1:
        raise InputError(f"a drive set needs at least 1 drive of at least 1 frame, got {settings.drives} drives "
                         f"of {settings.frames} frames", path=out)
    if not settings.fps > 0:
        raise InputError(f"fps must be above 0, got {settings.fps}", path=out)
    images: list[CocoImage] = []
    annotations: list[CocoAnnotation] = []
    drives_info = []
    with staged_dir(out, force) as stage:
        (stage / IMAGES_DIR).mkdir()
        for d in range(settings.drives):
            for plan, f, pixels, signs in iter_drive_frames(settings, d):
                if f == 0:
                    drives_info.append({"id": plan.drive_id, "fps": settings.fps,
                                        "speed_mps": _round(plan.speed_mps, 4), "frames": settings.frames})
                name = drive_frame_name(d, f)
                (stage / IMAGES_DIR / name).write_bytes(encode_jpeg(pixels))
                image_id = len(images) + 1
                odometer = plan.speed_mps * f / settings.fps
                images.append(CocoImage(id=image_id, file_name=name, width=settings.width, height=settings.height,
                                        tags={"drive": plan.drive_id, "frame": f, "fps": settings.fps,
                                              "speed_mps": _round(plan.speed_mps, 4),
                                              "odometer_m": _round(odometer, 3),
                                              "speed_limit": limit_in_force(plan, odometer),
                                              "time": "day", "weather": "clear", "region": settings.region}))
                for sign in signs:
                    x, y, w, h = (_round(v, 2) for v in sign.bbox)
                    annotations.append(CocoAnnotation(
                        id=len(annotations) + 1, image_id=image_id, category_id=sign.category_id, bbox=[x, y, w, h],
                        area=_round(w * h, 2), iscrowd=0,
                        attributes={"track_id": sign.track_id, "distance_m": _round(sign.distance, 3), "ahead": True,
                                    "occluded": _round(sign.occluded, 4)}))
        dataset = CocoDataset(
            info={"generator": DRIVE_GENERATOR, "drive_version": DRIVE_VERSION, "seed": settings.seed,
                  "width": settings.width, "height": settings.height, "region": settings.region,
                  "encoder": "Pillow " + PIL.__version__ + " JPEG (see gate.data.synth.world)",
                  "description": "Generated drives past traffic signs (tsrgate sequence suites)",
                  "drives": drives_info},
            images=images, annotations=annotations, categories=drive_categories(),
        )
        save_coco(dataset, stage / ANNOTATIONS_FILE)
    return out
