"""Sign faces drawn procedurally in the real families' shapes and colours.

Each face is painted once per process on a supersampled canvas, reduced to `FACE_SIZE` (premultiplied
RGBA, so edges blend without dark fringes) and cached; placing a sign in a scene only warps and
shrinks the cached face (see warp.py). The face fills its canvas edge to edge, so the alpha mask's
extent is the sign's extent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

from PIL import Image, ImageDraw

from gate.data.synth.classes import SYNTH_CLASSES, SignClass
from gate.data.synth.pictograms import (
    Color,
    car_rear,
    curved_arrow,
    paste_text,
    pedestrian,
    straight_arrow,
    thick_polyline,
    traffic_light,
)

FACE_SIZE = 256  # longer side of a cached face, in pixels
_SUPERSAMPLE = 2  # faces are painted at twice FACE_SIZE and reduced: anti-aliased edges and glyphs

RED: Color = (200, 28, 36, 255)
WHITE: Color = (244, 244, 240, 255)
BLACK: Color = (22, 22, 24, 255)
BLUE: Color = (18, 78, 168, 255)
YELLOW: Color = (250, 196, 16, 255)  # priority road
US_YELLOW: Color = (246, 190, 24, 255)  # US warning signs (a deeper, more orange yellow)

_TRIANGLE_HEIGHT = math.sqrt(3) / 2


def _inset_polygon(points: list[tuple[float, float]], center: tuple[float, float], scale: float):
    return [(center[0] + (x - center[0]) * scale, center[1] + (y - center[1]) * scale) for x, y in points]


def _rounded_polygon(draw: ImageDraw.ImageDraw, points, radius: float, color: Color) -> None:
    """A convex polygon whose corners are rounded with `radius` (pixels)."""
    cx = sum(p[0] for p in points) / len(points)
    cy = sum(p[1] for p in points) / len(points)
    # Shrink the polygon by the radius towards its centre, then grow it back with a round-jointed
    # outline: this rounds the corners without changing the straight edges' positions much.
    inradius = min(_distance_to_line((cx, cy), points[i], points[(i + 1) % len(points)]) for i in range(len(points)))
    inner = _inset_polygon(points, (cx, cy), max(0.0, 1 - radius / inradius))
    draw.polygon(inner, fill=color)
    w = max(1, round(2 * radius))
    draw.line(inner + [inner[0], inner[1]], fill=color, width=w, joint="curve")
    for x, y in inner:
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=color)


def _distance_to_line(p, a, b) -> float:
    (px, py), (ax, ay), (bx, by) = p, a, b
    return abs((bx - ax) * (ay - py) - (ax - px) * (by - ay)) / math.hypot(bx - ax, by - ay)


def _disc(draw: ImageDraw.ImageDraw, n: int, inset: float, color: Color) -> None:
    d = inset * n
    draw.ellipse([d, d, n - d, n - d], fill=color)


def _eu_round(draw: ImageDraw.ImageDraw, n: int, rim: Color = RED) -> None:
    """White disc, thin white outer edge, red rim: the prohibitory family's body."""
    _disc(draw, n, 0.0, WHITE)
    _disc(draw, n, 0.018, rim)
    _disc(draw, n, 0.115, WHITE)


def _face_eu_speed(face: Image.Image, sign: SignClass) -> None:
    draw = ImageDraw.Draw(face)
    _eu_round(draw, face.width)
    width = 0.58 if len(sign.text) > 2 else 0.52
    paste_text(face, sign.text, (0.5, 0.505), 0.40, width, BLACK, condense=0.82 if len(sign.text) > 2 else 0.9)


def _face_no_overtaking(face: Image.Image, sign: SignClass) -> None:
    draw = ImageDraw.Draw(face)
    n = face.width
    _eu_round(draw, n)
    car_rear(draw, n, (0.34, 0.52), 0.25, BLACK)
    car_rear(draw, n, (0.66, 0.52), 0.25, RED)


def _face_no_entry(face: Image.Image, sign: SignClass) -> None:
    draw = ImageDraw.Draw(face)
    n = face.width
    _disc(draw, n, 0.0, WHITE)
    _disc(draw, n, 0.018, RED)
    draw.rectangle([0.19 * n, 0.415 * n, 0.81 * n, 0.585 * n], fill=WHITE)


def _triangle(n: int, h: int, up: bool) -> list[tuple[float, float]]:
    if up:
        return [(n / 2, 0.0), (n, float(h)), (0.0, float(h))]
    return [(0.0, 0.0), (float(n), 0.0), (n / 2, float(h))]


def _face_eu_warning(face: Image.Image, sign: SignClass) -> None:
    draw = ImageDraw.Draw(face)
    n, h = face.width, face.height
    outer = _triangle(n, h, up=True)
    centroid = (n / 2, h * 2 / 3)
    inradius = h / 3
    _rounded_polygon(draw, outer, 0.05 * n, WHITE)
    _rounded_polygon(draw, _inset_polygon(outer, centroid, 1 - 0.02 * n / inradius), 0.045 * n, RED)
    _rounded_polygon(draw, _inset_polygon(outer, centroid, 1 - 0.12 * n / inradius), 0.025 * n, WHITE)
    # Pictograms are drawn in fractions of n around the triangle's lower-middle area.
    cy = 0.6 * h / n
    symbol = sign.text
    if symbol == "exclamation":
        draw.polygon([(0.465 * n, (cy - 0.19) * n), (0.535 * n, (cy - 0.19) * n), (0.515 * n, (cy + 0.07) * n),
                      (0.485 * n, (cy + 0.07) * n)], fill=BLACK)
        r = 0.04 * n
        draw.ellipse([0.5 * n - r, (cy + 0.14) * n - r, 0.5 * n + r, (cy + 0.14) * n + r], fill=BLACK)
    elif symbol == "bend_right":
        thick_polyline(draw, n, [(0.44, cy + 0.2), (0.44, cy + 0.02), (0.46, cy - 0.08), (0.56, cy - 0.14),
                                 (0.58, cy - 0.2)], 0.065, BLACK)
    elif symbol == "signals":
        traffic_light(draw, n, (0.5, cy + 0.02), 0.4)
    elif symbol == "pedestrian":
        pedestrian(draw, n, (0.5, cy + 0.01), 0.4, BLACK)
    elif symbol == "crossing":
        draw.polygon([(0.47 * n, (cy - 0.2) * n), (0.53 * n, (cy - 0.2) * n), (0.545 * n, (cy + 0.21) * n),
                      (0.455 * n, (cy + 0.21) * n)], fill=BLACK)
        draw.rectangle([0.36 * n, (cy - 0.025) * n, 0.64 * n, (cy + 0.025) * n], fill=BLACK)
    else:  # pragma: no cover - guarded by the class table test
        raise ValueError(f"unknown warning pictogram {symbol!r}")


def _face_give_way(face: Image.Image, sign: SignClass) -> None:
    draw = ImageDraw.Draw(face)
    n, h = face.width, face.height
    outer = _triangle(n, h, up=False)
    centroid = (n / 2, h / 3)
    inradius = h / 3
    _rounded_polygon(draw, outer, 0.05 * n, WHITE)
    _rounded_polygon(draw, _inset_polygon(outer, centroid, 1 - 0.02 * n / inradius), 0.045 * n, RED)
    _rounded_polygon(draw, _inset_polygon(outer, centroid, 1 - 0.15 * n / inradius), 0.02 * n, WHITE)


def _octagon(n: int, inset: float) -> list[tuple[float, float]]:
    r = (n / 2 - inset) / math.cos(math.pi / 8)
    return [(n / 2 + r * math.cos(math.pi / 8 + k * math.pi / 4), n / 2 + r * math.sin(math.pi / 8 + k * math.pi / 4))
            for k in range(8)]


def _face_stop(face: Image.Image, sign: SignClass) -> None:
    draw = ImageDraw.Draw(face)
    n = face.width
    draw.polygon(_octagon(n, 0.0), fill=RED)
    draw.polygon(_octagon(n, 0.025 * n), fill=WHITE)
    draw.polygon(_octagon(n, 0.05 * n), fill=RED)
    paste_text(face, sign.text, (0.5, 0.5), 0.3, 0.8, WHITE, condense=0.88, bold=5)


def _face_priority_road(face: Image.Image, sign: SignClass) -> None:
    draw = ImageDraw.Draw(face)
    n = face.width
    diamond = [(n / 2, 0.0), (float(n), n / 2), (n / 2, float(n)), (0.0, n / 2)]
    center = (n / 2, n / 2)
    _rounded_polygon(draw, diamond, 0.02 * n, (60, 60, 60, 255))
    _rounded_polygon(draw, _inset_polygon(diamond, center, 0.97), 0.02 * n, WHITE)
    _rounded_polygon(draw, _inset_polygon(diamond, center, 0.6), 0.01 * n, (40, 40, 40, 255))
    _rounded_polygon(draw, _inset_polygon(diamond, center, 0.57), 0.01 * n, YELLOW)


def _face_blue_arrow(face: Image.Image, sign: SignClass) -> None:
    draw = ImageDraw.Draw(face)
    n = face.width
    _disc(draw, n, 0.0, WHITE)
    _disc(draw, n, 0.015, BLUE)
    symbol = sign.text
    if symbol == "ahead":
        straight_arrow(draw, n, (0.5, 0.82), (0.5, 0.18), 0.12, 0.26, WHITE)
    elif symbol == "turn_right":
        curved_arrow(draw, n, (0.4, 0.82), (0.4, 0.4), (0.6, 0.4), 0.11, 0.22, WHITE)
    elif symbol == "turn_left":
        curved_arrow(draw, n, (0.6, 0.82), (0.6, 0.4), (0.4, 0.4), 0.11, 0.22, WHITE)
    elif symbol == "keep_right":
        straight_arrow(draw, n, (0.3, 0.3), (0.75, 0.75), 0.12, 0.26, WHITE)
    else:  # pragma: no cover
        raise ValueError(f"unknown arrow {symbol!r}")


def _face_us_speed(face: Image.Image, sign: SignClass) -> None:
    draw = ImageDraw.Draw(face)
    w, h = face.width, face.height
    draw.rounded_rectangle([0, 0, w - 1, h - 1], radius=0.05 * h, fill=WHITE)
    d, lw = 0.03 * h, max(1, round(0.018 * h))
    draw.rounded_rectangle([d, d, w - 1 - d, h - 1 - d], radius=0.035 * h, outline=BLACK, width=lw)
    # paste_text takes fractions of the longer side (the height here), centred on x = w/2.
    cx = w / 2 / h
    paste_text(face, "SPEED", (cx, 0.17), 0.12, 0.62, BLACK, condense=0.95, bold=3)
    paste_text(face, "LIMIT", (cx, 0.34), 0.12, 0.55, BLACK, condense=0.95, bold=3)
    paste_text(face, sign.text, (cx, 0.68), 0.4, 0.64, BLACK, condense=0.9)


def _face_us_warning(face: Image.Image, sign: SignClass) -> None:
    draw = ImageDraw.Draw(face)
    n = face.width
    diamond = [(n / 2, 0.0), (float(n), n / 2), (n / 2, float(n)), (0.0, n / 2)]
    center = (n / 2, n / 2)
    _rounded_polygon(draw, diamond, 0.04 * n, US_YELLOW)
    _rounded_polygon(draw, _inset_polygon(diamond, center, 0.92), 0.035 * n, BLACK)
    _rounded_polygon(draw, _inset_polygon(diamond, center, 0.87), 0.03 * n, US_YELLOW)
    symbol = sign.text
    if symbol == "curve_right":
        curved_arrow(draw, n, (0.42, 0.76), (0.42, 0.46), (0.6, 0.36), 0.085, 0.18, BLACK)
    elif symbol == "crossroad":
        draw.rectangle([0.455 * n, 0.24 * n, 0.545 * n, 0.76 * n], fill=BLACK)
        draw.rectangle([0.24 * n, 0.455 * n, 0.76 * n, 0.545 * n], fill=BLACK)
    elif symbol == "signal":
        traffic_light(draw, n, (0.5, 0.5), 0.48)
    else:  # pragma: no cover
        raise ValueError(f"unknown US warning pictogram {symbol!r}")


_FACE_PAINTERS: dict[str, Callable[[Image.Image, SignClass], None]] = {
    "eu_speed": _face_eu_speed,
    "no_overtaking": _face_no_overtaking,
    "no_entry": _face_no_entry,
    "eu_warning": _face_eu_warning,
    "give_way": _face_give_way,
    "stop": _face_stop,
    "priority_road": _face_priority_road,
    "blue_arrow": _face_blue_arrow,
    "us_speed": _face_us_speed,
    "us_warning": _face_us_warning,
}

# Width : height of each face's outline (triangles are wider than tall, US limits are portrait).
_ASPECT = {"eu_warning": 1 / _TRIANGLE_HEIGHT, "give_way": 1 / _TRIANGLE_HEIGHT, "us_speed": 0.8}


def face_painters() -> dict[str, Callable[[Image.Image, SignClass], None]]:
    return dict(_FACE_PAINTERS)


@lru_cache(maxsize=None)
def sign_face(class_index: int) -> Image.Image:
    """The class's face as a premultiplied 'RGBa' image whose longer side is FACE_SIZE."""
    sign = SYNTH_CLASSES[class_index]
    aspect = _ASPECT.get(sign.face, 1.0)
    big = FACE_SIZE * _SUPERSAMPLE
    width, height = (big, round(big / aspect)) if aspect >= 1 else (round(big * aspect), big)
    face = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    _FACE_PAINTERS[sign.face](face, sign)
    # Rounded corners pull a triangle's outline in from its canvas; crop to what was painted so the
    # face's canvas is exactly the sign's extent.
    face = face.crop(face.getchannel("A").getbbox())
    return face.convert("RGBa").reduce(_SUPERSAMPLE)
