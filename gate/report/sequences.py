"""The drive-suite section of a verdict report: sequence metrics per suite and timeline strips.

A timeline strip shows one drive frame by frame: the speed limit in force, what the baseline and
the candidate read (each side's confirmed reading, see gate.eval.sequence), red ticks where the
candidate reads wrong and the baseline right, and one line per sign while it is in view with the
frame each side first confirmed it. Hand-drawn SVG (no plotting library): small and exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from gate.policy import GATE_METRICS, MetricComparison
from gate.report.plots import BASELINE_COLOUR, CANDIDATE_COLOUR
from gate.report.templating import trusted_markup
from gate.results.sequences import DriveTimeline, SequenceSummary
from gate.results.verdict import GateVerdict

_LEFT, _WIDTH, _ROW, _TRACK_ROW = 130, 760, 18, 11
_LIMIT_COLOURS = {-1: "#f3f4f6", 0: "#ffffff", 30: "#fde68a", 50: "#bbf7d0", 60: "#a5f3fc", 80: "#c7d2fe",
                  100: "#fbcfe8", 120: "#fecaca", 25: "#fde68a", 35: "#bbf7d0", 55: "#c7d2fe", 65: "#fecaca"}


def limit_label(value: int) -> str:
    return "?" if value == -1 else "none" if value == 0 else str(value)


def _runs(values: list[int]) -> list[tuple[int, int, int]]:
    """(start, end exclusive, value) runs of equal values."""
    runs, start = [], 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            runs.append((start, i, values[start]))
            start = i
    return runs


def timeline_svg(timeline: DriveTimeline) -> str:
    """One drive as an SVG strip (limit rows, parting ticks, one line per sign)."""
    n = max(1, len(timeline.truth))
    step = (_WIDTH - _LEFT - 10) / n
    tracks = timeline.tracks
    height = 3 * (_ROW + 4) + 10 + len(tracks) * _TRACK_ROW + 22
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
             f'viewBox="0 0 {_WIDTH} {height}" font-family="sans-serif" font-size="10" role="img" '
             f'aria-label="drive {escape(timeline.drive)} timeline">']

    def x(frame: float) -> float:
        return _LEFT + frame * step

    rows = (("limit in force", timeline.truth, "#111111"), ("baseline reads", timeline.baseline, BASELINE_COLOUR),
            ("candidate reads", timeline.candidate, CANDIDATE_COLOUR))
    y = 4
    for label, values, colour in rows:
        parts.append(f'<text x="{_LEFT - 6}" y="{y + 13}" text-anchor="end" fill="{colour}">{label}</text>')
        for start, end, value in _runs(values):
            fill = _LIMIT_COLOURS.get(value, "#e5e7eb")
            parts.append(f'<rect x="{x(start):.1f}" y="{y}" width="{(end - start) * step:.1f}" height="{_ROW}" '
                         f'fill="{fill}" stroke="#9ca3af" stroke-width="0.5"><title>{label}: {limit_label(value)} '
                         f'(frames {start}-{end - 1})</title></rect>')
            if (end - start) * step >= 18:
                parts.append(f'<text x="{x(start) + 3:.1f}" y="{y + 13}" fill="#111111">{limit_label(value)}</text>')
        y += _ROW + 4
    for frame in timeline.parted:
        parts.append(f'<rect x="{x(frame):.1f}" y="{y}" width="{max(step, 1.5):.1f}" height="5" fill="#dc2626">'
                     f'<title>frame {frame}: candidate wrong, baseline right</title></rect>')
    y += 10
    for track in tracks:
        mid = y + _TRACK_ROW / 2
        colour = "#6b7280" if track.scored else "#d1d5db"
        parts.append(f'<text x="{_LEFT - 6}" y="{mid + 3:.1f}" text-anchor="end" fill="{colour}" font-size="9">'
                     f'{escape(track.class_name[:22])}</text>')
        parts.append(f'<line x1="{x(track.first_frame):.1f}" y1="{mid:.1f}" x2="{x(track.last_frame + 1):.1f}" '
                     f'y2="{mid:.1f}" stroke="{colour}" stroke-width="3"/>')
        for frame, side_colour, side in ((track.baseline_confirmed, BASELINE_COLOUR, "baseline"),
                                         (track.candidate_confirmed, CANDIDATE_COLOUR, "candidate")):
            if frame is None:
                continue
            cx = x(frame + 0.5)
            dy = -3 if side == "baseline" else 3
            parts.append(f'<circle cx="{cx:.1f}" cy="{mid + dy:.1f}" r="3" fill="{side_colour}"><title>{side} confirms '
                         f'{escape(track.class_name)} at frame {frame}</title></circle>')
        y += _TRACK_ROW
    y += 4
    seconds = int((n - 1) / timeline.fps) if timeline.fps > 0 else 0
    for s in range(seconds + 1):
        fx = x(s * timeline.fps)
        parts.append(f'<line x1="{fx:.1f}" y1="{y}" x2="{fx:.1f}" y2="{y + 4}" stroke="#6b7280"/>'
                     f'<text x="{fx:.1f}" y="{y + 14}" text-anchor="middle" fill="#6b7280">{s} s</text>')
    parts.append("</svg>")
    return "".join(parts)


@dataclass
class SequenceSection:
    summary: SequenceSummary
    rows: list[MetricComparison]
    strips: list[tuple[DriveTimeline, str]]  # (timeline, SVG markup safe to embed)


def sequence_sections(verdict: GateVerdict) -> list[SequenceSection]:
    """Per drive suite and backend: the whole-suite sequence rows and the worst drives' strips."""
    out = []
    for summary in verdict.sequences:
        rows = [r for r in verdict.comparisons
                if r.suite == summary.suite and r.backend == summary.backend and r.class_name is None
                and r.metric in GATE_METRICS and GATE_METRICS[r.metric].kind == "sequence"]
        out.append(SequenceSection(summary, rows, [(t, trusted_markup(timeline_svg(t))) for t in summary.worst]))
    return out
