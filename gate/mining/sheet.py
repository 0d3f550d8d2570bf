"""The contact sheet: the top N mined images with the predicted boxes drawn and the reasons under each.

One self-contained HTML file (images inline as PNG data URIs). Boxes at or above the operating
threshold are drawn green with class and score; considered detections below it (the uncertain
ones) yellow. Every string that came from outside (file names, tags, class names, reasons) is
HTML-escaped by the template engine.
"""

from __future__ import annotations

import base64
import io

import jinja2
from PIL import Image, ImageDraw, ImageFont

from gate.mining.results import MinedImage, MiningResult

ABOVE = (40, 230, 60)
BELOW = (255, 210, 0)
TILE_WIDTH = 384


def render_tile(pixels: Image.Image, image: MinedImage, threshold: float, width: int = TILE_WIDTH) -> bytes:
    """The image scaled to `width` with its considered detections drawn, as PNG bytes."""
    scale = width / pixels.width
    thumb = pixels.convert("RGB").resize((width, max(1, round(pixels.height * scale))), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(thumb)
    font = ImageFont.load_default()
    for det in sorted(image.detections, key=lambda d: d.score):
        x0, y0, x1, y1 = (v * scale for v in det.box)
        colour = ABOVE if det.score >= threshold else BELOW
        draw.rectangle([x0 - 1, y0 - 1, x1 + 1, y1 + 1], outline=colour, width=2 if det.score >= threshold else 1)
        # Uncertain boxes carry only their score: a crowded scene would otherwise be unreadable.
        text = f"{det.class_name} {det.score:.2f}" if det.score >= threshold else f"{det.score:.2f}"
        draw.text((x0, max(0, y0 - 11)), text, fill=colour, font=font)
    buffer = io.BytesIO()
    thumb.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


_TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string("""<!doctype html>
<html><head><meta charset="utf-8"><title>mined: {{ r.model.name }} on {{ r.pool.path }}</title>
<style>body{font-family:sans-serif;background:#202124;color:#e8eaed;margin:1em}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax({{ width }}px,1fr));gap:10px}
.card{background:#2d2e31;padding:6px}.card img{width:100%}.reasons{margin:4px 0 0 1.1em;padding:0}
.meta{color:#9aa0a6;font-size:85%}td,th{padding:1px 8px;text-align:left}code{font-size:90%}</style></head><body>
<h1>Mined images: {{ r.model.name }} {{ r.model.version }}</h1>
<p>Pool <code>{{ r.pool.path }}</code> ({{ r.pool.kind }}): {{ r.pool.images_mined }} images mined of
{{ r.pool.images_found }} found{% if r.unreadable %}, {{ r.unreadable|length }} unreadable{% endif %}.
Top {{ top|length }} kept scenes shown (near-duplicates collapsed). Backends: {{ r.backends|join(", ") }}.
Weights <code>{{ r.model.weights_sha256[:12] }}</code>, operating threshold {{ r.model.operating_threshold }}.</p>
<table><tr><th>signal</th><th>weight</th><th>used</th><th>note</th></tr>
{% for s in r.signals %}<tr><td>{{ s.name }}</td><td>{{ "%.2f"|format(s.weight) }}</td>
<td>{{ "yes" if s.available else "no" }}</td><td>{{ s.note }}</td></tr>
{% endfor %}</table>
<p>Green boxes: detections at or above the operating threshold; yellow: below it but within the uncertainty band.</p>
<div class="grid">{% for item in top %}<div class="card">
<img src="data:image/png;base64,{{ item.tile }}" alt="{{ item.image.file }}">
<div><b>#{{ item.image.rank }}</b> score {{ "%.3f"|format(item.image.score) }} &middot;
<code>{{ item.image.file }}</code></div>
{% if item.image.tags %}<div class="meta">
{%- for k, v in item.image.tags|dictsort %}{{ k }}={{ v }} {% endfor %}</div>{% endif %}
{% if item.image.duplicates %}<div class="meta">
{{- item.image.duplicates|length }} near-duplicate(s) collapsed into this one</div>{% endif %}
<ul class="reasons">
{%- for reason in item.image.reasons %}<li>{{ reason }}</li>{% else %}<li>no strong signal</li>{% endfor %}</ul>
</div>{% endfor %}</div>
{% if r.unreadable %}<h2>Unreadable images (skipped)</h2><ul>{% for u in r.unreadable %}
<li><code>{{ u.file }}</code>: {{ u.problem }}</li>{% endfor %}</ul>{% endif %}
</body></html>
""")


def sheet_html(result: MiningResult, tiles: dict[int, bytes], top: list[MinedImage], width: int = TILE_WIDTH) -> str:
    """The HTML page for the `top` images; `tiles` maps image id -> PNG bytes from `render_tile`."""
    items = [{"image": img, "tile": base64.b64encode(tiles[img.image_id]).decode("ascii")} for img in top]
    return _TEMPLATE.render(r=result, top=items, width=width)
