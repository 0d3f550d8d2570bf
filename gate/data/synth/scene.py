"""The road scene behind the signs: sky, terrain, road with lane marks and roadside clutter.

A pinhole camera 1.4 m above a flat ground plane looks along a gently curving road, so everything
(lane dashes, facades, trees, cars, sign poles) shrinks towards the horizon consistently. Besides the
colour image the painter keeps a depth map (metres) that fog uses, a sky mask that night lighting
skips, and the light sources (lamps, head- and tail-lights, lit windows) that glow at night.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

from gate.data import portable_math as pm

FAR_DEPTH = 1000.0  # metres assigned to the sky
ROAD_FAR = 150.0  # the road is drawn out to this distance
LANE_WIDTH = 3.5


@dataclass(frozen=True)
class RoadGeometry:
    """Camera and road: projects ground-plane points (lateral x, distance d, height z) to pixels."""

    width: int
    height: int
    horizon: float  # image row of the horizon
    vanish_x: float  # image column the straight road would converge to
    focal: float  # pixels
    curvature: float  # lateral drift c*d^2 (metres) makes the road bend left or right
    camera_height: float = 1.4

    def project(self, lateral: float, distance: float, height: float = 0.0) -> tuple[float, float]:
        x = self.vanish_x + self.focal * (lateral + self.curvature * distance * distance) / distance
        y = self.horizon + self.focal * (self.camera_height - height) / distance
        return x, y

    def metres_to_pixels(self, metres: float, distance: float) -> float:
        return self.focal * metres / distance


@dataclass(frozen=True)
class RoadLayout:
    """The scene's fixed structure, drawn before any pixel: camera, lanes, shoulder, surroundings."""

    geometry: RoadGeometry
    environment: str  # rural, suburban, urban or dry
    lanes: int
    own_lane: int  # the lane the camera drives in (right-hand traffic)
    shoulder: float  # metres of shoulder or pavement outside each road edge

    @property
    def lane_bounds(self) -> list[float]:
        """Lateral positions (metres) of the lane boundaries, left road edge first."""
        return [(i - self.own_lane - 0.5) * LANE_WIDTH for i in range(self.lanes + 1)]

    @property
    def road_edges(self) -> tuple[float, float]:
        bounds = self.lane_bounds
        return bounds[0], bounds[-1]


@dataclass(frozen=True)
class LightSource:
    """A bright spot that glows at dusk and night (centre, radius in pixels, colour, strength 0..1)."""

    x: float
    y: float
    radius: float
    color: tuple[int, int, int]
    strength: float


@dataclass
class SceneCanvas:
    """Everything painted so far: colour (H, W, 3 float32, 0..255), depth (H, W metres), sky mask, lights."""

    geometry: RoadGeometry
    image: np.ndarray
    depth: np.ndarray
    sky: np.ndarray
    lights: list[LightSource] = field(default_factory=list)
    road_mask: np.ndarray | None = None


# Sky gradient (zenith colour, horizon colour) per time of day and weather.
_SKY = {
    ("day", "clear"): ((58, 118, 198), (178, 208, 234)),
    ("day", "overcast"): ((140, 146, 154), (192, 194, 198)),
    ("day", "rain"): ((104, 110, 120), (150, 154, 160)),
    ("day", "fog"): ((178, 180, 182), (198, 199, 200)),
    ("dusk", "clear"): ((44, 50, 104), (238, 146, 86)),
    ("dusk", "overcast"): ((84, 82, 96), (164, 134, 116)),
    ("dusk", "rain"): ((62, 62, 74), (124, 110, 102)),
    ("dusk", "fog"): ((130, 122, 124), (168, 150, 140)),
    ("night", "clear"): ((3, 5, 14), (16, 22, 38)),
    ("night", "overcast"): ((8, 8, 12), (26, 26, 32)),
    ("night", "rain"): ((6, 6, 10), (22, 22, 28)),
    ("night", "fog"): ((16, 16, 20), (36, 36, 40)),
}

_TERRAIN = {
    "rural": [(78, 112, 52), (96, 120, 60), (110, 112, 66)],
    "suburban": [(84, 118, 60), (102, 110, 74)],
    "urban": [(120, 118, 112), (132, 128, 120)],
    "dry": [(150, 134, 96), (138, 124, 84)],
}
_CAR_COLORS = [(200, 200, 204), (30, 32, 36), (140, 20, 24), (36, 60, 120), (110, 112, 116), (230, 230, 226),
               (60, 90, 60), (180, 150, 90)]
_FACADE_COLORS = [(168, 150, 128), (190, 180, 160), (140, 88, 70), (150, 150, 150), (200, 196, 184), (120, 112, 104)]


def _jitter(rng: np.random.Generator, color, amount: float = 12.0) -> tuple[int, int, int]:
    return tuple(int(np.clip(c + rng.normal(0, amount), 0, 255)) for c in color)


def smooth_noise(rng: np.random.Generator, height: int, width: int, cells: tuple[int, int]) -> np.ndarray:
    """Low-frequency noise in [-1, 1]: a small random grid upsampled with bicubic interpolation."""
    grid = rng.uniform(-1.0, 1.0, size=cells).astype(np.float32)
    up = Image.fromarray(grid, mode="F").resize((width, height), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(up), -1.0, 1.0)


def make_road(rng: np.random.Generator, width: int, height: int) -> RoadLayout:
    """Draw the camera pose and the road's structure for one scene."""
    geometry = RoadGeometry(
        width=width,
        height=height,
        horizon=float(rng.uniform(0.36, 0.5) * height),
        vanish_x=float(rng.uniform(0.4, 0.6) * width),
        focal=float(rng.uniform(0.78, 0.9) * width),
        curvature=float(rng.uniform(-0.0007, 0.0007)),
    )
    environment = str(rng.choice(["rural", "suburban", "urban", "dry"], p=[0.35, 0.3, 0.25, 0.1]))
    lanes = int(rng.choice([2, 3, 4], p=[0.55, 0.25, 0.2]))
    # Right-hand traffic in both regions: the camera drives in one of the right half's lanes.
    own = lanes - 1 if lanes <= 2 else int(rng.integers(lanes // 2, lanes))
    return RoadLayout(geometry, environment, lanes, own, float(rng.uniform(0.8, 2.5)))


class _Painter:
    """Draws on the colour image and the depth map at once, so fog always sees what was drawn."""

    def __init__(self, image: Image.Image, depth: Image.Image):
        self.color = ImageDraw.Draw(image)
        self.depth = ImageDraw.Draw(depth)

    def polygon(self, points, fill, depth: float) -> None:
        self.color.polygon(points, fill=fill)
        self.depth.polygon(points, fill=float(depth))

    def rectangle(self, box, fill, depth: float) -> None:
        self.color.rectangle(box, fill=fill)
        self.depth.rectangle(box, fill=float(depth))

    def ellipse(self, box, fill, depth: float) -> None:
        self.color.ellipse(box, fill=fill)
        self.depth.ellipse(box, fill=float(depth))

    def line(self, points, fill, width: int, depth: float) -> None:
        self.color.line(points, fill=fill, width=width)
        self.depth.line(points, fill=float(depth), width=width)


def _sky_gradient(height: int, width: int, horizon: float, top, bottom) -> np.ndarray:
    rows = pm.power(np.clip(np.arange(height, dtype=np.float32) / max(horizon, 1.0), 0.0, 1.0), 0.8).astype(np.float32)
    top_a, bottom_a = np.array(top, np.float32), np.array(bottom, np.float32)
    column = top_a[None, :] * (1 - rows[:, None]) + bottom_a[None, :] * rows[:, None]
    return np.repeat(column[:, None, :], width, axis=1)


def _road_edge(geo: RoadGeometry, lateral: float, distances: np.ndarray) -> list[tuple[float, float]]:
    return [geo.project(lateral, float(d)) for d in distances]


def paint_background(rng: np.random.Generator, road: RoadLayout, time: str, weather: str,
                     region: str) -> SceneCanvas:
    """Paint sky, terrain, road, lane marks and roadside objects for one scene."""
    geo = road.geometry
    width, height = geo.width, geo.height
    environment = road.environment
    sky_top, sky_bottom = _SKY[(time, weather)]
    base = _sky_gradient(height, width, geo.horizon, _jitter(rng, sky_top, 6), _jitter(rng, sky_bottom, 6))
    if weather == "clear" and time != "night":
        # Soft, wide cloud banks: thresholded noise stretched horizontally, thinning towards the horizon
        # (where haze takes over) and towards the zenith.
        field = smooth_noise(rng, height, width, (6, 5)) * 0.7 + smooth_noise(rng, height, width, (14, 12)) * 0.3
        rows = np.arange(height, dtype=np.float32)[:, None] / max(geo.horizon, 1.0)
        band = np.clip(pm.sin(np.clip(rows, 0, 1) * np.pi).astype(np.float32) * 1.3, 0, 1)
        cover = float(rng.uniform(-0.1, 0.35))
        clouds = np.clip((field + cover) * 2.2, 0, 1) * band * float(rng.uniform(0.4, 0.85))
        tint = np.array((250, 250, 252) if time == "day" else (236, 180, 150), np.float32)
        base = base * (1 - clouds[..., None]) + tint * clouds[..., None]
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    depth = Image.new("F", (width, height), FAR_DEPTH)
    paint = _Painter(image, depth)
    lights: list[LightSource] = []

    horizon_row = geo.horizon
    # Terrain: a flat ground plane below the horizon, one colour with texture added later.
    terrain = _jitter(rng, _TERRAIN[environment][rng.integers(len(_TERRAIN[environment]))], 8)
    paint.color.rectangle([0, horizon_row, width, height], fill=terrain)
    rows = np.arange(height, dtype=np.float32)
    ground_depth = geo.focal * geo.camera_height / np.maximum(rows - geo.horizon, 0.5)
    depth_arr = np.asarray(depth).copy()
    below = rows > geo.horizon
    depth_arr[below, :] = np.minimum(ground_depth[below], FAR_DEPTH)[:, None]
    depth = Image.fromarray(depth_arr, "F")
    paint = _Painter(image, depth)

    _paint_far_band(rng, paint, geo, environment, time, lights)

    # Road: lanes of 3.5 m; the camera drives in lane `own`.
    lanes, own = road.lanes, road.own_lane
    bounds = road.lane_bounds
    near = geo.focal * geo.camera_height / (height - geo.horizon + 30)
    distances = np.geomspace(near, ROAD_FAR, 40)
    shoulder = road.shoulder
    shoulder_color = _jitter(rng, (150, 146, 138) if environment in ("urban", "suburban") else (128, 120, 104), 8)
    left = _road_edge(geo, bounds[0] - shoulder, distances)
    right = _road_edge(geo, bounds[-1] + shoulder, distances)
    paint.color.polygon(left + right[::-1], fill=shoulder_color)
    # Asphalt varies in lightness (new and dark, old and pale), barely in hue.
    level = float(rng.uniform(-18, 22))
    asphalt = _jitter(rng, (88 + level, 88 + level, 91 + level), 2.5)
    road_left = _road_edge(geo, bounds[0], distances)
    road_right = _road_edge(geo, bounds[-1], distances)
    paint.color.polygon(road_left + road_right[::-1], fill=asphalt)
    road_mask_img = Image.new("L", (width, height), 0)
    ImageDraw.Draw(road_mask_img).polygon(road_left + road_right[::-1], fill=255)

    _paint_lane_marks(rng, paint, geo, bounds, distances, region, lanes, own)

    # Roadside objects, far to near so nearer ones cover farther ones.
    objects = _roadside_objects(rng, geo, bounds, environment, lanes, own)
    for distance, draw_fn in sorted(objects, key=lambda item: -item[0]):
        draw_fn(paint, lights)

    pixels = np.asarray(image, dtype=np.float32).copy()
    depth_out = np.asarray(depth, dtype=np.float32).copy()
    sky = depth_out >= FAR_DEPTH
    # Texture: low-frequency mottling on everything that is not sky (asphalt patches, grass).
    mottle = smooth_noise(rng, height, width, (10, 16)) * 0.04 + smooth_noise(rng, height, width, (60, 96)) * 0.03
    pixels *= (1.0 + np.where(sky, 0.0, mottle))[..., None]
    return SceneCanvas(geo, np.clip(pixels, 0, 255), depth_out, sky, lights,
                       road_mask=np.asarray(road_mask_img) > 127)


def _paint_far_band(rng, paint: _Painter, geo: RoadGeometry, environment: str, time: str, lights) -> None:
    """Hills or a tree line on the horizon, plus distant buildings in built-up areas."""
    width = geo.width
    xs = np.linspace(0, width, 33)
    phase = rng.uniform(0, 6.28, size=3)
    freq = rng.uniform(0.004, 0.03, size=3)
    amp = rng.uniform(2, 14, size=3)
    profile = geo.horizon - 2 - np.abs(sum(a * pm.sin(f * xs + p) for a, f, p in zip(amp, freq, phase, strict=True)))
    hill = _jitter(rng, (70, 96, 70) if environment != "dry" else (140, 120, 96), 10)
    pts = [(float(x), float(y)) for x, y in zip(xs, profile, strict=True)]
    pts += [(width, geo.horizon + 1), (0, geo.horizon + 1)]
    paint.polygon(pts, hill, 400.0)
    if environment in ("urban", "suburban"):
        count = int(rng.integers(3, 9))
        for _ in range(count):
            bw = float(rng.uniform(10, 60))
            bh = float(rng.uniform(8, 55 if environment == "urban" else 22))
            x0 = float(rng.uniform(-20, width))
            color = _jitter(rng, _FACADE_COLORS[rng.integers(len(_FACADE_COLORS))], 10)
            paint.rectangle([x0, geo.horizon - bh, x0 + bw, geo.horizon + 1], color, 250.0)
            if time != "day":
                for _ in range(int(rng.integers(0, 4))):
                    wx, wy = x0 + rng.uniform(2, bw - 2), geo.horizon - rng.uniform(2, bh - 2)
                    paint.color.rectangle([wx - 1, wy - 1, wx + 1, wy + 1], fill=(255, 220, 140))
                    lights.append(LightSource(float(wx), float(wy), 2.0, (255, 210, 140), 0.35))


def _paint_lane_marks(rng, paint: _Painter, geo: RoadGeometry, bounds, distances, region, lanes, own) -> None:
    white = (228, 228, 222)
    yellow = (226, 180, 40)
    half = 0.08
    divider = own if region == "us" and lanes >= 2 else None  # US: double yellow between directions
    if region == "us" and lanes >= 3:
        divider = max(1, lanes // 2)
    dash, gap = (3.0, 9.0) if region == "us" else (6.0, 12.0)
    offset = float(rng.uniform(0, dash + gap))
    for i, lateral in enumerate(bounds):
        if i in (0, len(bounds) - 1):
            _strip(paint, geo, lateral, distances, half, white)
        elif i == divider:
            _strip(paint, geo, lateral - 0.15, distances, half, yellow)
            _strip(paint, geo, lateral + 0.15, distances, half, yellow)
        else:
            d = distances[0] + offset - (dash + gap)
            while d < ROAD_FAR:
                d0, d1 = max(d, distances[0]), min(d + dash, ROAD_FAR)
                if d1 > d0:
                    _strip(paint, geo, lateral, np.geomspace(d0, d1, 4), half, white)
                d += dash + gap


def _strip(paint: _Painter, geo: RoadGeometry, lateral: float, distances, half: float, color) -> None:
    a = _road_edge(geo, lateral - half, distances)
    b = _road_edge(geo, lateral + half, distances)
    paint.color.polygon(a + b[::-1], fill=color)


def _roadside_objects(rng, geo: RoadGeometry, bounds, environment: str, lanes: int, own: int):
    """(distance, draw function) pairs for trees, facades, lamp posts, cars, billboards and fences."""
    objects = []
    left_edge, right_edge = bounds[0], bounds[-1]

    def side_lateral(side: int, margin_lo: float, margin_hi: float) -> float:
        edge = right_edge if side > 0 else left_edge
        return edge + side * float(rng.uniform(margin_lo, margin_hi))

    n_trees = {"rural": 10, "suburban": 6, "urban": 2, "dry": 3}[environment]
    for _ in range(int(rng.integers(n_trees // 2, n_trees + 1))):
        side = 1 if rng.random() < 0.5 else -1
        objects.append(_tree(rng, geo, side_lateral(side, 2.5, 14.0), float(rng.uniform(8, 120))))
    if environment in ("urban", "suburban"):
        for side in (-1, 1):
            d = float(rng.uniform(10, 30))
            while d < 110:
                length = float(rng.uniform(8, 22))
                objects.append(_facade(rng, geo, side_lateral(side, 3.0, 6.0), d, d + length, environment))
                d += length + float(rng.uniform(0, 12))
    if rng.random() < 0.6:
        side = 1 if rng.random() < 0.7 else -1
        lateral = side_lateral(side, 0.4, 1.0)
        spacing = float(rng.uniform(25, 40))
        d = float(rng.uniform(6, spacing))
        while d < 140:
            objects.append(_lamp_post(rng, geo, lateral, d, side))
            d += spacing
    for _ in range(int(rng.integers(0, 4))):
        lane = int(rng.integers(0, lanes))
        lateral = (lane - own) * LANE_WIDTH + float(rng.uniform(-0.4, 0.4))
        oncoming = lane < own and lanes >= 2 and rng.random() < 0.7
        objects.append(_car(rng, geo, lateral, float(rng.uniform(9, 90)), oncoming))
    if rng.random() < 0.35:
        side = 1 if rng.random() < 0.5 else -1
        objects.append(_billboard(rng, geo, side_lateral(side, 3.0, 8.0), float(rng.uniform(15, 70))))
    if rng.random() < 0.4:
        side = 1 if rng.random() < 0.6 else -1
        objects.append(_guard_rail(rng, geo, side_lateral(side, 0.3, 0.8)))
    for _ in range(int(rng.integers(0, 3))):
        side = 1 if rng.random() < 0.5 else -1
        objects.append(_utility_pole(rng, geo, side_lateral(side, 1.0, 5.0), float(rng.uniform(10, 100))))
    return objects


def _tree(rng, geo: RoadGeometry, lateral: float, distance: float):
    trunk_h = float(rng.uniform(1.5, 3.5))
    crown_r = float(rng.uniform(1.2, 3.2))
    greens = [_jitter(rng, (46, 84, 38), 14) for _ in range(4)]
    offsets = rng.uniform(-0.7, 0.7, size=(6, 2)) * crown_r
    radii = rng.uniform(0.55, 0.9, size=6) * crown_r
    trunk_color = _jitter(rng, (82, 64, 46), 8)

    def draw(paint: _Painter, lights) -> None:
        bx, by = geo.project(lateral, distance)
        tx, ty = geo.project(lateral, distance, trunk_h)
        tw = max(1.0, geo.metres_to_pixels(0.3, distance))
        paint.rectangle([bx - tw / 2, ty, bx + tw / 2, by], trunk_color, distance)
        for (ox, oz), r, g in zip(offsets, radii, greens * 2, strict=False):
            cx, cy = geo.project(lateral + ox, distance, trunk_h + crown_r * 0.8 + oz)
            rp = geo.metres_to_pixels(r, distance)
            paint.ellipse([cx - rp, cy - rp, cx + rp, cy + rp], g, distance)

    return distance, draw


def _facade(rng, geo: RoadGeometry, lateral: float, d0: float, d1: float, environment: str):
    storeys = int(rng.integers(1, 3 if environment == "suburban" else 6))
    height = storeys * 3.0 + float(rng.uniform(0.5, 1.5))
    color = _jitter(rng, _FACADE_COLORS[rng.integers(len(_FACADE_COLORS))], 10)
    window = _jitter(rng, (60, 70, 84), 10)
    columns = max(1, int((d1 - d0) / 3.0))

    def draw(paint: _Painter, lights) -> None:
        quad = [geo.project(lateral, d0), geo.project(lateral, d1), geo.project(lateral, d1, height),
                geo.project(lateral, d0, height)]
        paint.polygon(quad, color, (d0 + d1) / 2)
        for s in range(storeys):
            z0, z1 = s * 3.0 + 1.0, s * 3.0 + 2.3
            for c in range(columns):
                wd0 = d0 + (c + 0.25) * (d1 - d0) / columns
                wd1 = d0 + (c + 0.75) * (d1 - d0) / columns
                paint.color.polygon([geo.project(lateral, wd0, z0), geo.project(lateral, wd1, z0),
                                     geo.project(lateral, wd1, z1), geo.project(lateral, wd0, z1)], fill=window)

    return (d0 + d1) / 2, draw


def _lamp_post(rng, geo: RoadGeometry, lateral: float, distance: float, side: int):
    height = float(rng.uniform(7, 9))
    grey = _jitter(rng, (120, 122, 126), 8)

    def draw(paint: _Painter, lights) -> None:
        bx, by = geo.project(lateral, distance)
        tx, ty = geo.project(lateral, distance, height)
        hx, hy = geo.project(lateral - side * 1.5, distance, height)
        w = max(1, round(geo.metres_to_pixels(0.18, distance)))
        paint.line([(bx, by), (tx, ty), (hx, hy)], grey, w, distance)
        r = max(1.0, geo.metres_to_pixels(0.3, distance))
        paint.ellipse([hx - r, hy - r / 2, hx + r, hy + r / 2], (230, 226, 200), distance)
        lights.append(LightSource(hx, hy + r / 2, max(2.0, r * 3), (255, 196, 120), 0.9))

    return distance, draw


def _car(rng, geo: RoadGeometry, lateral: float, distance: float, oncoming: bool):
    body = _jitter(rng, _CAR_COLORS[rng.integers(len(_CAR_COLORS))], 10)
    width, height = float(rng.uniform(1.7, 2.0)), float(rng.uniform(1.35, 1.7))

    def draw(paint: _Painter, lights) -> None:
        x0, y0 = geo.project(lateral - width / 2, distance, height)
        x1, y1 = geo.project(lateral + width / 2, distance, 0.15)
        paint.rectangle([x0, y0 + (y1 - y0) * 0.05, x1, y1], body, distance)
        paint.color.rectangle([x0 + (x1 - x0) * 0.12, y0 + (y1 - y0) * 0.1, x1 - (x1 - x0) * 0.12,
                               y0 + (y1 - y0) * 0.42], fill=(40, 46, 54))
        wy = y1 + geo.metres_to_pixels(0.15, distance)
        paint.color.rectangle([x0 + (x1 - x0) * 0.05, y1 - 1, x0 + (x1 - x0) * 0.25, wy], fill=(20, 20, 20))
        paint.color.rectangle([x1 - (x1 - x0) * 0.25, y1 - 1, x1 - (x1 - x0) * 0.05, wy], fill=(20, 20, 20))
        ly = y0 + (y1 - y0) * 0.6
        lr = max(1.0, (x1 - x0) * 0.08)
        lamp = (250, 250, 236) if oncoming else (220, 30, 30)
        for lx in (x0 + (x1 - x0) * 0.12, x1 - (x1 - x0) * 0.12):
            paint.color.ellipse([lx - lr, ly - lr * 0.7, lx + lr, ly + lr * 0.7], fill=lamp)
            lights.append(LightSource(lx, ly, lr * (5 if oncoming else 3), lamp, 1.0 if oncoming else 0.6))

    return distance, draw


def _billboard(rng, geo: RoadGeometry, lateral: float, distance: float):
    """An advert on two posts; its coloured discs and blocks are sign-like distractors, not signs."""
    width, height, lift = float(rng.uniform(3, 6)), float(rng.uniform(1.5, 3)), float(rng.uniform(1.5, 3))
    background = _jitter(rng, [(230, 230, 230), (30, 90, 160), (210, 200, 60), (40, 40, 40)][rng.integers(4)], 10)
    shapes = [(rng.uniform(0.1, 0.9), rng.uniform(0.2, 0.8), rng.uniform(0.1, 0.3), int(rng.integers(2)),
               _jitter(rng, [(210, 30, 40), (20, 80, 170), (250, 250, 250), (250, 200, 20)][rng.integers(4)], 8))
              for _ in range(int(rng.integers(1, 4)))]

    def draw(paint: _Painter, lights) -> None:
        x0, y0 = geo.project(lateral - width / 2, distance, lift + height)
        x1, y1 = geo.project(lateral + width / 2, distance, lift)
        for px in (x0 + (x1 - x0) * 0.15, x1 - (x1 - x0) * 0.15):
            _, gy = geo.project(lateral, distance)
            paint.line([(px, y1), (px, gy)], (90, 90, 94), max(1, round(geo.metres_to_pixels(0.15, distance))),
                       distance)
        paint.rectangle([x0, y0, x1, y1], background, distance)
        for u, v, r, kind, color in shapes:
            cx, cy = x0 + u * (x1 - x0), y0 + v * (y1 - y0)
            rp = r * (y1 - y0)
            if kind == 0:
                paint.color.ellipse([cx - rp, cy - rp, cx + rp, cy + rp], fill=color)
            else:
                paint.color.rectangle([cx - rp * 1.5, cy - rp * 0.6, cx + rp * 1.5, cy + rp * 0.6], fill=color)

    return distance, draw


def _guard_rail(rng, geo: RoadGeometry, lateral: float):
    d_start = float(rng.uniform(4, 20))
    d_end = float(rng.uniform(50, 140))
    grey = _jitter(rng, (170, 172, 174), 8)

    def draw(paint: _Painter, lights) -> None:
        ds = np.geomspace(d_start, d_end, 24)
        top = [geo.project(lateral, float(d), 0.75) for d in ds]
        bottom = [geo.project(lateral, float(d), 0.45) for d in ds]
        paint.polygon(top + bottom[::-1], grey, (d_start + d_end) / 2)
        for d in np.arange(d_start, d_end, 4.0):
            bx, by = geo.project(lateral, float(d))
            tx, ty = geo.project(lateral, float(d), 0.75)
            paint.line([(bx, by), (tx, ty)], (110, 110, 112), max(1, round(geo.metres_to_pixels(0.1, d))), float(d))

    return d_end, draw


def _utility_pole(rng, geo: RoadGeometry, lateral: float, distance: float):
    height = float(rng.uniform(6, 10))
    color = _jitter(rng, (96, 76, 58), 10)

    def draw(paint: _Painter, lights) -> None:
        bx, by = geo.project(lateral, distance)
        tx, ty = geo.project(lateral, distance, height)
        paint.line([(bx, by), (tx, ty)], color, max(1, round(geo.metres_to_pixels(0.25, distance))), distance)

    return distance, draw
