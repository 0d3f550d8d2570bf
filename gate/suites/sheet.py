"""Contact sheets: a grid of a suite's rendered images with their boxes drawn, for people to look at.

Scored boxes are green with their category name, ignore regions orange; a recorded occlusion is shown
as a percentage. Under each image a strip of enlarged crops shows the signs themselves (most are far
too small to judge at thumbnail size). Written as PNG, or as a self-contained HTML page.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import jinja2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gate.errors import InputError
from gate.storage import atomic_write_bytes, atomic_write_text
from gate.suites.render import load_pixels
from gate.suites.resolved import ResolvedSuite

SCORED = (40, 230, 60)
IGNORED = (255, 150, 0)
CROP_SIZE = 72
CROPS_PER_IMAGE = 5
CAPTION_HEIGHT = 16


def pick_images(suite: ResolvedSuite, count: int, drive: str | None = None) -> list[int]:
    """`count` image ids spread evenly over the suite, or over one drive's frames in order (the same ones every time)."""
    ids = [img.id for img in suite.coco.images]
    if drive is not None:
        table = suite.manifest.sequence
        found = next((d for d in table.drives if d.id == drive), None) if table is not None else None
        if found is None:
            known = ", ".join(d.id for d in table.drives[:5]) + ", ..." if table is not None else "none (not a sequence suite)"
            raise InputError(f"no drive {drive!r} in suite {suite.name} (drives: {known})", path=suite.manifest_path)
        ids = list(found.image_ids)
    if len(ids) <= count:
        return ids
    positions = np.linspace(0, len(ids) - 1, count).round().astype(int)
    return [ids[i] for i in positions]


def _box_label(name: str, attributes: dict) -> str:
    track = attributes.get("track_id")
    if isinstance(track, int) and not isinstance(track, bool) and name:
        name = f"{name} #{track}"
    occluded = attributes.get("occluded_pasted", attributes.get("occluded"))
    if isinstance(occluded, int | float) and occluded > 0:
        return f"{name} {occluded * 100:.0f}%"
    return name


def render_tile(suite: ResolvedSuite, image_id: int, width: int) -> Image.Image:
    """One image scaled to `width`, boxes drawn, a caption, and a strip of enlarged sign crops."""
    image = next(img for img in suite.coco.images if img.id == image_id)
    annotations = suite.coco.annotations_by_image().get(image_id, [])
    names = suite.coco.category_names()
    pixels = load_pixels(suite.image_path(image_id))
    full = Image.fromarray(pixels)
    scale = width / image.width
    thumb = full.resize((width, max(1, round(image.height * scale))), Image.Resampling.BILINEAR)
    font = ImageFont.load_default()
    draw = ImageDraw.Draw(thumb)
    for ann in annotations:
        x0, y0, x1, y1 = (v * scale for v in ann.xyxy())
        colour = IGNORED if ann.ignore else SCORED
        draw.rectangle([x0 - 1, y0 - 1, x1 + 1, y1 + 1], outline=colour, width=1 if ann.ignore else 2)
        if not ann.ignore:
            draw.text((x0, max(0, y0 - 11)), _box_label(names.get(ann.category_id, "?"), ann.attributes),
                      fill=colour, font=font)
    crops = Image.new("RGB", (width, CROP_SIZE), (20, 20, 20))
    for k, ann in enumerate([a for a in annotations if not a.ignore][:CROPS_PER_IMAGE]):
        x0, y0, x1, y1 = ann.xyxy()
        pad = 0.35 * max(x1 - x0, y1 - y0)
        crop = full.crop((int(x0 - pad), int(y0 - pad), int(np.ceil(x1 + pad)), int(np.ceil(y1 + pad))))
        crop = crop.resize((CROP_SIZE, CROP_SIZE), Image.Resampling.NEAREST)
        ImageDraw.Draw(crop).text((2, CROP_SIZE - 12), _box_label("", ann.attributes).strip(), fill=(255, 255, 0),
                                  font=font)
        crops.paste(crop, (k * (CROP_SIZE + 4), 0))
    tile = Image.new("RGB", (width, thumb.height + CAPTION_HEIGHT + CROP_SIZE), (0, 0, 0))
    tile.paste(thumb, (0, 0))
    scored = sum(1 for a in annotations if not a.ignore)
    ignored = len(annotations) - scored
    caption = f"#{image_id}  {scored} boxes" + (f", {ignored} ignored" if ignored else "")
    ImageDraw.Draw(tile).text((4, thumb.height + 2), caption, fill=(230, 230, 230), font=font)
    tile.paste(crops, (0, thumb.height + CAPTION_HEIGHT))
    return tile


def contact_sheet(suite: ResolvedSuite, count: int = 24, columns: int = 4, width: int = 360,
                  drive: str | None = None) -> Image.Image:
    """The whole grid as one image, with a header naming the suite."""
    tiles = [render_tile(suite, i, width) for i in pick_images(suite, count, drive)]
    rows = (len(tiles) + columns - 1) // columns
    tile_h = max(t.height for t in tiles)
    header = 22
    sheet = Image.new("RGB", (columns * (width + 4), header + rows * (tile_h + 4)), (45, 45, 45))
    m = suite.manifest
    chain = ", ".join(f"{t.name} {t.severity}" for t in m.transforms) or "no transform"
    ImageDraw.Draw(sheet).text(
        (6, 5), f"{m.name} v{m.version}  |  {chain}  |  {m.counts.images} images, {m.counts.boxes} boxes, "
                f"{m.counts.ignore_regions} ignore regions  |  manifest {suite.manifest_sha256[:12]}",
        fill=(255, 255, 255), font=ImageFont.load_default())
    for k, tile in enumerate(tiles):
        sheet.paste(tile, ((k % columns) * (width + 4), header + (k // columns) * (tile_h + 4)))
    return sheet


_HTML = jinja2.Template("""<!doctype html>
<html><head><meta charset="utf-8"><title>{{ m.name }} v{{ m.version }}</title>
<style>body{font-family:sans-serif;background:#222;color:#eee;margin:1em}
.grid{display:grid;grid-template-columns:repeat({{ columns }},1fr);gap:6px}img{width:100%}
td,th{padding:2px 8px;text-align:left}</style></head><body>
<h1>{{ m.name }} v{{ m.version }}</h1><p>{{ m.description }}</p>
<table><tr><th>images</th><td>{{ m.counts.images }}</td><th>boxes</th><td>{{ m.counts.boxes }}</td>
<th>ignore regions</th><td>{{ m.counts.ignore_regions }}</td></tr>
<tr><th>transforms</th><td colspan="5">
{% for t in m.transforms %}{{ t.name }} (severity {{ t.severity }}) {% else %}none{% endfor %}</td></tr>
<tr><th>manifest sha256</th><td colspan="5"><code>{{ sha }}</code></td></tr></table>
<p>Green: scored boxes (category, recorded occlusion). Orange: ignore regions.</p>
<div class="grid">{% for tile in tiles %}<img src="data:image/png;base64,{{ tile }}">{% endfor %}</div>
</body></html>
""", autoescape=True)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def write_contact_sheet(suite: ResolvedSuite, out: str | Path, count: int = 24, columns: int = 4,
                        width: int = 360, drive: str | None = None) -> Path:
    """Write a PNG or HTML contact sheet (chosen by the file extension); `drive` shows one drive's frames."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix == ".png":
        atomic_write_bytes(out, _png(contact_sheet(suite, count, columns, width, drive)))
    elif suffix in (".html", ".htm"):
        tiles = [base64.b64encode(_png(render_tile(suite, i, width))).decode("ascii")
                 for i in pick_images(suite, count, drive)]
        atomic_write_text(out, _HTML.render(m=suite.manifest, sha=suite.manifest_sha256, tiles=tiles, columns=columns))
    else:
        raise InputError("contact sheet must be a .png or .html file", path=out)
    return out
