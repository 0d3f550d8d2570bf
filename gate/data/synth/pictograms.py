"""Black or white symbols painted on sign faces: arrows, pictograms and condensed text.

Every function draws in face coordinates given as fractions of the face size `n`, so the same code
serves any supersampled canvas. Text uses Pillow's built-in font (`ImageFont.load_default(size=...)`,
bundled with Pillow), never a system font, so the world renders the same on a bare CI machine.
"""

from __future__ import annotations

import math
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

Color = tuple[int, int, int, int]
Point = tuple[float, float]

_TEXT_RENDER_SIZE = 160  # font size the glyphs are rasterised at before being scaled onto the face


def _px(n: int, *points: Point) -> list[tuple[float, float]]:
    return [(x * n, y * n) for x, y in points]


@lru_cache(maxsize=64)
def _text_ink(text: str, bold: int) -> Image.Image:
    """The glyphs of `text` as an 'L' mask cropped to the ink, rendered once per process."""
    font = ImageFont.load_default(size=_TEXT_RENDER_SIZE)
    if not isinstance(font, ImageFont.FreeTypeFont):  # Pillow built without FreeType: small bitmap
        bold = 0  # font, no stroke support; the glyphs are scaled up below all the same
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), text, font=font, stroke_width=bold)
    canvas = Image.new("L", (right - left + 4, bottom - top + 4), 0)
    ImageDraw.Draw(canvas).text((2 - left, 2 - top), text, fill=255, font=font, stroke_width=bold, stroke_fill=255)
    return canvas.crop(canvas.getbbox())


def paste_text(
    face: Image.Image,
    text: str,
    center: Point,
    height: float,
    max_width: float,
    color: Color,
    condense: float = 0.85,
    bold: int = 6,
) -> None:
    """Paint `text` centred at `center` (fractions of the face), `height` tall, at most `max_width` wide.

    Sign lettering is condensed (tall and narrow, like DIN 1451), hence `condense` < 1 on the width.
    """
    n = face.width if face.width >= face.height else face.height
    ink = _text_ink(text, bold)
    target_h = max(1, round(height * n))
    target_w = ink.width * target_h / ink.height * condense
    target_w = max(1, round(min(target_w, max_width * n)))
    mask = ink.resize((target_w, target_h), Image.Resampling.LANCZOS)
    x = round(center[0] * n - target_w / 2)
    y = round(center[1] * n - target_h / 2)
    face.paste(Image.new("RGBA", mask.size, color), (x, y), mask)


def thick_polyline(draw: ImageDraw.ImageDraw, n: int, points: list[Point], width: float, color: Color) -> None:
    """A polyline with round joints and round caps (width as a fraction of the face)."""
    pts = _px(n, *points)
    w = max(1, round(width * n))
    draw.line(pts, fill=color, width=w, joint="curve")
    r = w / 2
    for x, y in (pts[0], pts[-1]):
        draw.ellipse([x - r, y - r, x + r, y + r], fill=color)


def bezier(p0: Point, p1: Point, p2: Point, steps: int = 24) -> list[Point]:
    """Points along the quadratic Bezier curve p0 -> p2 pulled towards p1."""
    out = []
    for i in range(steps + 1):
        t = i / steps
        a, b, c = (1 - t) ** 2, 2 * (1 - t) * t, t * t
        out.append((a * p0[0] + b * p1[0] + c * p2[0], a * p0[1] + b * p1[1] + c * p2[1]))
    return out


def arrow_head(draw: ImageDraw.ImageDraw, n: int, tip: Point, direction: Point, length: float, half_width: float,
               color: Color) -> None:
    """A filled triangular head with its tip at `tip`, pointing along `direction`."""
    dx, dy = direction
    norm = math.hypot(dx, dy) or 1.0
    dx, dy = dx / norm, dy / norm
    bx, by = tip[0] - dx * length, tip[1] - dy * length
    px, py = -dy * half_width, dx * half_width
    draw.polygon(_px(n, tip, (bx + px, by + py), (bx - px, by - py)), fill=color)


def curved_arrow(draw: ImageDraw.ImageDraw, n: int, p0: Point, p1: Point, p2: Point, shaft: float, head: float,
                 color: Color) -> None:
    """A shaft along a Bezier curve ending in a head; the head continues the curve's last tangent."""
    direction = (p2[0] - p1[0], p2[1] - p1[1])
    norm = math.hypot(*direction) or 1.0
    tip = (p2[0] + direction[0] / norm * head * 0.9, p2[1] + direction[1] / norm * head * 0.9)
    thick_polyline(draw, n, bezier(p0, p1, p2), shaft, color)
    arrow_head(draw, n, tip, direction, head, head * 0.75, color)


def straight_arrow(draw: ImageDraw.ImageDraw, n: int, start: Point, tip: Point, shaft: float, head: float,
                   color: Color) -> None:
    direction = (tip[0] - start[0], tip[1] - start[1])
    norm = math.hypot(*direction) or 1.0
    base = (tip[0] - direction[0] / norm * head * 0.9, tip[1] - direction[1] / norm * head * 0.9)
    w = max(1, round(shaft * n))
    draw.line(_px(n, start, base), fill=color, width=w)
    arrow_head(draw, n, tip, direction, head, head * 0.75, color)


def traffic_light(draw: ImageDraw.ImageDraw, n: int, center: Point, height: float) -> None:
    """A black signal head with red, amber and green lamps (the lamps keep their colours on every face)."""
    cx, cy = center
    w = height * 0.42
    draw.rounded_rectangle(_px(n, (cx - w / 2, cy - height / 2), (cx + w / 2, cy + height / 2)),
                           radius=w * n * 0.25, fill=(20, 20, 20, 255))
    r = w * 0.32
    for k, lamp in enumerate(((210, 30, 30, 255), (240, 180, 20, 255), (30, 160, 60, 255))):
        ly = cy - height / 2 + height * (k + 0.5) / 3
        draw.ellipse(_px(n, (cx - r, ly - r), (cx + r, ly + r)), fill=lamp)


def pedestrian(draw: ImageDraw.ImageDraw, n: int, center: Point, height: float, color: Color) -> None:
    """A walking figure: head, torso, swinging arms and striding legs."""
    cx, cy = center
    h = height
    top = cy - h / 2
    head_r = h * 0.09
    draw.ellipse(_px(n, (cx + h * 0.02 - head_r, top), (cx + h * 0.02 + head_r, top + 2 * head_r)), fill=color)
    neck = (cx, top + h * 0.24)
    hip = (cx - h * 0.03, top + h * 0.58)
    limb = h * 0.085
    thick_polyline(draw, n, [neck, hip], limb * 1.3, color)
    thick_polyline(draw, n, [(neck[0], neck[1] + h * 0.05), (cx - h * 0.16, top + h * 0.45)], limb, color)
    thick_polyline(draw, n, [(neck[0], neck[1] + h * 0.05), (cx + h * 0.17, top + h * 0.42)], limb, color)
    thick_polyline(draw, n, [hip, (cx - h * 0.08, top + h * 0.78), (cx - h * 0.2, top + h * 0.97)], limb, color)
    thick_polyline(draw, n, [hip, (cx + h * 0.1, top + h * 0.78), (cx + h * 0.16, top + h * 0.98)], limb, color)


def car_rear(draw: ImageDraw.ImageDraw, n: int, center: Point, width: float, color: Color) -> None:
    """A car seen from behind (the no-overtaking pictogram)."""
    cx, cy = center
    w = width
    body_h = w * 0.45
    draw.rounded_rectangle(_px(n, (cx - w / 2, cy - body_h * 0.1), (cx + w / 2, cy + body_h * 0.65)),
                           radius=w * n * 0.12, fill=color)
    draw.polygon(_px(n, (cx - w * 0.36, cy), (cx - w * 0.26, cy - body_h * 0.75), (cx + w * 0.26, cy - body_h * 0.75),
                     (cx + w * 0.36, cy)), fill=color)
    for side in (-1, 1):
        x = cx + side * w * 0.32
        draw.rectangle(_px(n, (x - w * 0.1, cy + body_h * 0.55), (x + w * 0.1, cy + body_h * 0.95)), fill=color)
