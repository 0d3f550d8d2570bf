"""The generator: one scene per image index, each from its own RNG, written as a COCO dataset folder.

Image `i` of a world with seed `s` is rendered from `np.random.SeedSequence([s, i])` alone, so images
can be rendered in any order, in any number of processes, and come out byte-identical. The dataset
folder is assembled under a temporary name and moved into place only when complete.
"""

from __future__ import annotations

import io
import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageFilter

from gate.data.coco import CocoAnnotation, CocoDataset, CocoImage, save_coco
from gate.data.dataset import ANNOTATIONS_FILE, IMAGES_DIR
from gate.data.synth.classes import REGIONS, category_id, synth_categories
from gate.data.synth.layout import SignPlacement, plan_signs
from gate.data.synth.occluders import OCCLUDER_KINDS, OccluderLayer, box_fraction, paint_occluder
from gate.data.synth.scene import RoadLayout, SceneCanvas, make_road, paint_background
from gate.data.synth.signs import sign_face
from gate.data.synth.warp import WarpedSign, warp_sign
from gate.data.synth.weather import LightingInputs, apply_camera, apply_lighting, apply_weather
from gate.errors import InputError
from gate.storage import staged_dir

# Bump whenever anything that changes pixels or annotations changes (suites pin it). Version 2: every
# transcendental function, matrix product and linear solve goes through gate.data.portable_math, so the
# pixels no longer depend on the CPU (version 1 rendered one `clean` image differently on AMD EPYC).
WORLD_VERSION = "2"
GENERATOR = "tsrgate.data.synth"
DEFAULT_WIDTH, DEFAULT_HEIGHT = 512, 320
JPEG_QUALITY = 90
JPEG_SUBSAMPLING = 0  # 4:4:4: red rims and blue discs keep their colour edges on small signs

# (time, weather) -> probability. Most scenes are clean daylight so the clean suite is large, but
# every combination occurs so the night, rain and fog suites have material.
CONDITIONS: dict[tuple[str, str], float] = {
    ("day", "clear"): 0.57,
    ("day", "overcast"): 0.06,
    ("day", "rain"): 0.07,
    ("day", "fog"): 0.06,
    ("dusk", "clear"): 0.04,
    ("dusk", "overcast"): 0.02,
    ("dusk", "rain"): 0.02,
    ("dusk", "fog"): 0.02,
    ("night", "clear"): 0.08,
    ("night", "overcast"): 0.02,
    ("night", "rain"): 0.02,
    ("night", "fog"): 0.02,
}
P_REGION_US = 0.3
P_OCCLUDED = 0.22  # chance that a sign gets an occluder in front of it
MAX_OCCLUSION = 0.85  # an occluder that would hide more than this of any sign is not drawn
_SPLIT_CYCLE = ("train",) * 14 + ("val",) * 3 + ("test",) * 3  # 70 / 15 / 15 by image index
_POLE_GREY = np.array([150, 152, 156], np.float32)


@dataclass(frozen=True)
class SynthSign:
    """A sign as annotated: class, box clipped to the image (x, y, w, h), occlusion and truncation."""

    class_index: int
    bbox: tuple[float, float, float, float]
    occluded: float
    truncated: float
    distance: float
    occluder: str | None  # kind of the occluder aimed at this sign, if one was drawn


@dataclass(frozen=True)
class SynthScene:
    """One rendered image with its tags and signs; `occluder_alpha` is kept so tests can audit occlusion."""

    index: int
    pixels: np.ndarray  # (H, W, 3) uint8 RGB
    tags: dict[str, str]
    signs: list[SynthSign]
    occluder_alpha: np.ndarray  # (H, W) float32 0..1, the occluders in front of the signs


def split_for_index(index: int) -> str:
    """The split of image `index`: a fixed 70/15/15 cycle, so splits never depend on the RNG."""
    return _SPLIT_CYCLE[index % len(_SPLIT_CYCLE)]


def _draw_conditions(rng: np.random.Generator, index: int) -> dict[str, str]:
    keys = list(CONDITIONS)
    probs = np.array([CONDITIONS[k] for k in keys], np.float64)
    time, weather = keys[int(rng.choice(len(keys), p=probs / probs.sum()))]
    region = REGIONS[1] if rng.random() < P_REGION_US else REGIONS[0]
    return {"time": time, "weather": weather, "region": region, "split": split_for_index(index)}


_STREAMS = ("conditions", "road", "signs", "background", "occluders", "effects")


def _random_streams(seed: int, index: int) -> dict[str, np.random.Generator]:
    """Independent generators per concern, all from (seed, index): repainting the background
    differently, say, leaves the signs' classes and positions as they were."""
    children = np.random.SeedSequence([seed, index]).spawn(len(_STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(_STREAMS, children, strict=True)}


@dataclass(frozen=True)
class ScenePlan:
    """What an image will contain, decided before any pixel is painted (cheap to compute)."""

    index: int
    tags: dict[str, str]
    road: RoadLayout
    placements: list[SignPlacement]


def plan_scene(seed: int, index: int, width: int = DEFAULT_WIDTH, height: int = DEFAULT_HEIGHT) -> ScenePlan:
    """The tags, road and sign placements of image `index`, exactly as `render_scene` will use them."""
    streams = _random_streams(seed, index)
    tags = _draw_conditions(streams["conditions"], index)
    road = make_road(streams["road"], width, height)
    return ScenePlan(index, tags, road, plan_signs(streams["signs"], road, tags["region"]))


def _draw_pole(canvas: SceneCanvas, pole: tuple[float, float, float, float], distance: float) -> None:
    """A metal post with anti-aliased vertical edges (partial coverage of the edge columns)."""
    height, width = canvas.depth.shape
    x0, y0, x1, y1 = pole
    r0, r1 = max(0, int(y0)), min(height, int(np.ceil(y1)))
    c0, c1 = max(0, int(np.floor(x0))), min(width, int(np.ceil(x1)))
    if r1 <= r0 or c1 <= c0:
        return
    cols = np.arange(c0, c1, dtype=np.float32)
    cover = np.clip(np.minimum(cols + 1, x1) - np.maximum(cols, x0), 0, 1)
    shade = 0.8 + 0.4 * (cols + 0.5 - x0) / max(x1 - x0, 1e-3)
    color = _POLE_GREY[None, :] * shade[:, None]
    region = canvas.image[r0:r1, c0:c1]
    canvas.image[r0:r1, c0:c1] = region * (1 - cover[None, :, None]) + color[None] * cover[None, :, None]
    canvas.depth[r0:r1, c0:c1] = np.where(cover[None, :] > 0.5, distance, canvas.depth[r0:r1, c0:c1])


def _styled_patch(warped: WarpedSign, placement: SignPlacement) -> tuple[np.ndarray, np.ndarray]:
    """The sign patch with its own brightness, faded paint and blur applied (premultiplied)."""
    rgb = warped.rgb * placement.gain
    if placement.fade > 0:
        grey = rgb.mean(axis=2, keepdims=True)
        rgb = rgb * (1 - placement.fade) + grey * placement.fade
    alpha = warped.alpha
    if placement.blur > 0.05:
        stacked = np.clip(np.dstack([rgb, alpha[..., None] * 255.0]), 0, 255).astype(np.uint8)
        soft = np.asarray(Image.fromarray(stacked, "RGBA").filter(ImageFilter.GaussianBlur(placement.blur)),
                          np.float32)
        rgb, alpha = soft[..., :3], soft[..., 3] / 255.0
    return np.minimum(rgb, alpha[..., None] * 255.0), alpha


def _composite_sign(canvas: SceneCanvas, sign_cover: np.ndarray, warped: WarpedSign, placement: SignPlacement):
    rgb, alpha = _styled_patch(warped, placement)
    height, width = canvas.depth.shape
    ph, pw = alpha.shape
    ix0, iy0 = max(0, warped.x0), max(0, warped.y0)
    ix1, iy1 = min(width, warped.x0 + pw), min(height, warped.y0 + ph)
    if ix1 <= ix0 or iy1 <= iy0:
        return
    px0, py0 = ix0 - warped.x0, iy0 - warped.y0
    a = alpha[py0:py0 + iy1 - iy0, px0:px0 + ix1 - ix0]
    c = rgb[py0:py0 + iy1 - iy0, px0:px0 + ix1 - ix0]
    canvas.image[iy0:iy1, ix0:ix1] = c + canvas.image[iy0:iy1, ix0:ix1] * (1 - a[..., None])
    sign_cover[iy0:iy1, ix0:ix1] = a + sign_cover[iy0:iy1, ix0:ix1] * (1 - a)
    depth = canvas.depth[iy0:iy1, ix0:ix1]
    canvas.depth[iy0:iy1, ix0:ix1] = np.where(a > 0.5, placement.distance, depth)


def _clip_box(box, width: int, height: int) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    return max(0.0, x0), max(0.0, y0), min(float(width), x1), min(float(height), y1)


def _area(box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def render_scene(seed: int, index: int, width: int = DEFAULT_WIDTH, height: int = DEFAULT_HEIGHT,
                 draw_occluders: bool = True) -> SynthScene:
    """Render image `index` of the world with `seed`.

    `draw_occluders=False` renders the identical scene with the occluders left out (same random
    draws, same annotations), which lets a test check each recorded occluded fraction against the
    pixels that the occluders actually changed.
    """
    plan = plan_scene(seed, index, width, height)
    streams = _random_streams(seed, index)
    tags, placements = plan.tags, plan.placements
    canvas = paint_background(streams["background"], plan.road, tags["time"], tags["weather"], tags["region"])

    for placement in placements:
        if placement.pole is not None:
            _draw_pole(canvas, placement.pole, placement.distance)
    sign_cover = np.zeros((height, width), np.float32)
    full_boxes = []
    for placement in placements:
        warped = warp_sign(sign_face(placement.class_index), placement.pose)
        _composite_sign(canvas, sign_cover, warped, placement)
        full_boxes.append(warped.box)
    boxes = [_clip_box(b, width, height) for b in full_boxes]

    rng = streams["occluders"]
    layer = OccluderLayer(height, width)
    occluder_kinds: list[str | None] = []
    for i, placement in enumerate(placements):
        wanted = rng.random() < P_OCCLUDED
        kind = OCCLUDER_KINDS[int(rng.choice(len(OCCLUDER_KINDS), p=[0.45, 0.3, 0.25]))]
        target = float(rng.uniform(0.1, 0.7))
        if not wanted or _area(boxes[i]) < 4.0:
            occluder_kinds.append(None)
            continue
        patch = paint_occluder(rng, kind, boxes[i], target, width, height)
        trial = layer.with_patch(patch)
        if all(box_fraction(trial.alpha, b) <= MAX_OCCLUSION for b in boxes):
            layer = trial
            occluder_kinds.append(kind)
            # Occluders stand between the camera and the sign: half its distance, for fog.
            region = canvas.depth[patch.y0:patch.y0 + patch.alpha.shape[0], patch.x0:patch.x0 + patch.alpha.shape[1]]
            if draw_occluders:
                region[:] = np.where(patch.alpha > 0.5, placement.distance * 0.5, region)
        else:
            occluder_kinds.append(None)

    image = canvas.image
    visible_signs = sign_cover
    if draw_occluders:
        image = layer.composite(image)
        visible_signs = sign_cover * (1 - layer.alpha)
    inputs = LightingInputs(depth=canvas.depth, sky=canvas.sky & (canvas.depth >= 999.0), signs=visible_signs,
                            road=canvas.road_mask, lights=canvas.lights)
    rng = streams["effects"]
    image = apply_lighting(rng, image, tags["time"], inputs)
    image = apply_weather(rng, image, tags["time"], tags["weather"], inputs)
    pixels = apply_camera(rng, image, tags["time"])

    signs = []
    for placement, full, box, kind in zip(placements, full_boxes, boxes, occluder_kinds, strict=True):
        if box[2] - box[0] < 1.0 or box[3] - box[1] < 1.0:  # (guard) nothing of this sign is in the frame
            continue
        full_area = _area(full)
        truncated = 1.0 - _area(box) / full_area if full_area > 0 else 0.0
        signs.append(SynthSign(
            class_index=placement.class_index,
            bbox=(box[0], box[1], box[2] - box[0], box[3] - box[1]),
            occluded=box_fraction(layer.alpha, box),
            truncated=max(0.0, truncated),
            distance=placement.distance,
            occluder=kind,
        ))
    return SynthScene(index=index, pixels=pixels, tags=tags, signs=signs, occluder_alpha=layer.alpha)


def encode_jpeg(pixels: np.ndarray) -> bytes:
    """JPEG bytes with fixed settings (deterministic for a given Pillow/libjpeg build)."""
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY, subsampling=JPEG_SUBSAMPLING,
                                        optimize=False, progressive=False)
    return buffer.getvalue()


def image_file_name(index: int) -> str:
    return f"synth_{index:06d}.jpg"


@dataclass(frozen=True)
class _RenderedFile:
    index: int
    jpeg: bytes
    tags: dict[str, str]
    signs: list[SynthSign]


def _render_file(job: tuple[int, int, int, int]) -> _RenderedFile:
    seed, index, width, height = job
    scene = render_scene(seed, index, width, height)
    return _RenderedFile(index, encode_jpeg(scene.pixels), scene.tags, scene.signs)


def _round(value: float, digits: int) -> float:
    # Round and normalise -0.0 so the JSON text is the same however the float was reached.
    return round(value, digits) + 0.0


def default_workers(images: int) -> int:
    """Two worker processes for worlds big enough to repay starting them, else render in-process."""
    from gate.machine import cpu_count

    return 1 if images < 48 else max(1, min(2, cpu_count()))


def _worker_pool(workers: int):
    """A process pool; fork where the platform has it.

    Workers only run numpy and Pillow code, so inheriting the parent's state by fork is safe, and
    unlike spawn it does not re-import the caller's main script (a script without a `__main__`
    guard would otherwise start workers recursively).
    """
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn").Pool(workers)


def generate_world(out: Path, images: int, seed: int, force: bool = False, *, width: int = DEFAULT_WIDTH,
                   height: int = DEFAULT_HEIGHT, workers: int | None = None,
                   on_image: Callable[[int], None] | None = None) -> Path:
    """Render `images` scenes with `seed` into the dataset folder `out` (images/ + annotations.json).

    Refuses an existing non-empty `out` unless `force`; the folder appears only when complete. The
    output does not depend on `workers`. `on_image(done)` is called after each image is written.
    """
    out = Path(out)
    if images < 1:
        raise InputError(f"--images must be at least 1, got {images}", path=out)
    if seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {seed}", path=out)
    if width < 64 or height < 64:
        raise InputError(f"image size must be at least 64x64, got {width}x{height}", path=out)
    workers = default_workers(images) if workers is None else max(1, workers)
    jobs = [(seed, i, width, height) for i in range(images)]
    coco_images: list[CocoImage] = []
    annotations: list[CocoAnnotation] = []
    with staged_dir(out, force) as stage:
        image_dir = stage / IMAGES_DIR
        image_dir.mkdir()
        if workers == 1:
            rendered = map(_render_file, jobs)
            pool = None
        else:
            pool = _worker_pool(workers)
            rendered = pool.imap(_render_file, jobs, chunksize=8)
        try:
            for done, item in enumerate(rendered, start=1):
                name = image_file_name(item.index)
                (image_dir / name).write_bytes(item.jpeg)
                coco_images.append(CocoImage(id=item.index + 1, file_name=name, width=width, height=height,
                                             tags=item.tags))
                for sign in item.signs:
                    x, y, w, h = (_round(v, 2) for v in sign.bbox)
                    annotations.append(CocoAnnotation(
                        id=len(annotations) + 1,
                        image_id=item.index + 1,
                        category_id=category_id(sign.class_index),
                        bbox=[x, y, w, h],
                        area=_round(w * h, 2),
                        iscrowd=0,
                        attributes={"occluded": _round(sign.occluded, 4), "truncated": _round(sign.truncated, 4)},
                    ))
                if on_image is not None:
                    on_image(done)
        except BaseException:
            if pool is not None:
                pool.terminate()
            raise
        finally:
            if pool is not None:
                pool.close()
                pool.join()
        dataset = CocoDataset(
            info={
                "generator": GENERATOR,
                "world_version": WORLD_VERSION,
                "seed": seed,
                "images": images,
                "width": width,
                "height": height,
                "encoder": f"Pillow {PIL.__version__} JPEG quality {JPEG_QUALITY} subsampling 4:4:4",
                "description": "Generated traffic-sign road scenes (tsrgate's embedded default dataset)",
            },
            images=coco_images,
            annotations=annotations,
            categories=synth_categories(),
        )
        save_coco(dataset, stage / ANNOTATIONS_FILE)
    return out
