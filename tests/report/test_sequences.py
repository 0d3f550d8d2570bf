"""The drive-suite report section: timeline strips drawn from hand-made timelines."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from gate.compare.sequences import DriveTimeline, TrackMark
from gate.report.sequences import limit_label, timeline_svg


def _timeline() -> DriveTimeline:
    truth = [-1] * 5 + [50] * 10 + [0] * 5
    baseline = list(truth)
    candidate = [-1] * 5 + [80] * 10 + [0] * 5
    return DriveTimeline(
        drive="d0007", fps=5.0, image_ids=list(range(100, 120)), truth=truth, candidate=candidate, baseline=baseline,
        parted=list(range(5, 15)), score=10.0,
        tracks=[TrackMark(class_name="speed_limit_50", first_frame=0, last_frame=3, candidate_confirmed=None,
                          baseline_confirmed=1, scored=True),
                TrackMark(class_name="end_of_speed_limit", first_frame=9, last_frame=13, candidate_confirmed=None,
                          baseline_confirmed=None, scored=False)])


def test_timeline_strip_is_valid_svg_with_readings_partings_and_confirmations():
    svg = timeline_svg(_timeline())
    root = ET.fromstring(svg)  # well-formed XML
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert "limit in force: 50 (frames 5-14)" in titles
    assert "candidate reads: 80 (frames 5-14)" in titles
    assert sum(1 for t in titles if t.endswith("candidate wrong, baseline right")) == 10
    assert "baseline confirms speed_limit_50 at frame 1" in titles
    assert not any(t.startswith("candidate confirms") for t in titles)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "0 s" in texts and "3 s" in texts and "end_of_speed_limit" in texts


def test_limit_labels():
    assert [limit_label(v) for v in (-1, 0, 30)] == ["?", "none", "30"]
