"""Contact sheets (PNG and HTML) of a suite."""

from __future__ import annotations

import pytest
from PIL import Image

from gate.errors import InputError
from gate.suites.build import build_suite
from gate.suites.resolved import open_suite
from gate.suites.sheet import pick_images, write_contact_sheet


def test_png_sheet(make_spec, roots, tmp_path):
    build_suite(make_spec())
    out = write_contact_sheet(open_suite("tiny-night"), tmp_path / "sheet.png", count=4, columns=2, width=160)
    with Image.open(out) as img:
        assert img.width == 2 * 164 and img.height > 2 * 100


def test_html_sheet_embeds_every_tile(make_spec, roots, tmp_path):
    build_suite(make_spec())
    out = write_contact_sheet(open_suite("tiny-night"), tmp_path / "sheet.html", count=3)
    html = out.read_text()
    assert html.count("data:image/png;base64,") == 3 and "tiny-night v1" in html


def test_pick_images_spreads_evenly(make_spec, roots):
    build_suite(make_spec())
    suite = open_suite("tiny-night")
    assert pick_images(suite, 2) == [5, 9] and pick_images(suite, 10) == [5, 6, 7, 9]


def test_unknown_sheet_format(make_spec, roots, tmp_path):
    build_suite(make_spec())
    with pytest.raises(InputError, match=".png or .html"):
        write_contact_sheet(open_suite("tiny-night"), tmp_path / "sheet.gif")
