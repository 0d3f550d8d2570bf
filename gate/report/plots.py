"""Report plots as inline SVG markup, byte-identical for identical inputs.

Determinism: a fixed `svg.hashsalt` makes matplotlib's element ids stable, `metadata={"Date": None}`
drops the timestamp, and text stays text (`svg.fonttype: none`) so the files are small and the
labels searchable. Labels are user data (class and model names), so mathtext is switched off: a `$`
in a class name is drawn as a dollar sign, never parsed. Matplotlib escapes the text it writes
into the SVG; the markup is inserted into the page as is.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

CANDIDATE_COLOUR = "#c2410c"
BASELINE_COLOUR = "#1d4ed8"
GREY = "#d4d4d4"
# AP deltas beyond +-0.2 get the full colour; most real regressions are within that range.
HEATMAP_RANGE = 0.2

_RC = {
    "svg.hashsalt": "tsrgate-report",
    "svg.fonttype": "none",
    "text.parse_math": False,
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "figure.dpi": 100,
}


@contextlib.contextmanager
def plot_style() -> Iterator[None]:
    import matplotlib

    matplotlib.use("Agg")
    with matplotlib.rc_context(_RC):
        yield


def svg_markup(svg: bytes | str) -> str:
    """An SVG document as markup to place inside HTML: XML declaration, DOCTYPE and RDF metadata removed."""
    text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    text = re.sub(r"^\s*<\?xml[^>]*\?>\s*", "", text)
    text = re.sub(r"^\s*<!DOCTYPE[^>]*>\s*", "", text)
    # The RDF metadata block only names the producer (with web addresses); the report has its own provenance.
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    return text.strip()


def figure_svg(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(fig)
    return svg_markup(buffer.getvalue())


@dataclass(frozen=True)
class HeatCell:
    """One class x suite cell: the AP delta, its CI and whether it was judged (enough support)."""

    delta: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    support: int | None = None
    judged: bool = True

    @property
    def ci_excludes_zero(self) -> bool:
        return self.ci_low is not None and self.ci_high is not None and (self.ci_low > 0 or self.ci_high < 0)


def heatmap_svg(rows: Sequence[str], columns: Sequence[str], cells: dict[tuple[str, str], HeatCell],
                metric_label: str = "AP delta") -> str:
    """Rows (classes) x columns (suites): colour = delta, bold frame and * = CI excludes zero, grey = not judged."""
    with plot_style():
        import matplotlib.pyplot as plt
        from matplotlib.colors import TwoSlopeNorm
        from matplotlib.patches import Rectangle

        cmap = plt.get_cmap("RdYlGn")
        norm = TwoSlopeNorm(vmin=-HEATMAP_RANGE, vcenter=0.0, vmax=HEATMAP_RANGE)
        width = 2.4 + 1.05 * max(len(columns), 1)
        height = 1.2 + 0.3 * max(len(rows), 1)
        fig, ax = plt.subplots(figsize=(width, height))
        for r, row in enumerate(rows):
            for c, column in enumerate(columns):
                cell = cells.get((row, column))
                if cell is None or cell.delta is None or not cell.judged:
                    colour, text = GREY, "n/a" if cell is None or cell.delta is None else f"n={cell.support}"
                else:
                    colour = cmap(norm(max(-HEATMAP_RANGE, min(HEATMAP_RANGE, cell.delta))))
                    text = f"{cell.delta:+.3f}" + ("*" if cell.ci_excludes_zero else "")
                marked = cell is not None and cell.judged and cell.delta is not None and cell.ci_excludes_zero
                ax.add_patch(Rectangle((c, r), 1, 1, facecolor=colour, edgecolor="black" if marked else "white",
                                       linewidth=2.0 if marked else 0.8))
                ax.text(c + 0.5, r + 0.5, text, ha="center", va="center", fontsize=8,
                        fontweight="bold" if marked else "normal", color="#111111")
        ax.set_xlim(0, max(len(columns), 1))
        ax.set_ylim(max(len(rows), 1), 0)
        ax.set_xticks([c + 0.5 for c in range(len(columns))])
        ax.set_xticklabels(list(columns), rotation=20, ha="right")
        ax.set_yticks([r + 0.5 for r in range(len(rows))])
        ax.set_yticklabels(list(rows))
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_title(f"{metric_label}, candidate - baseline", loc="left")
        fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.04, pad=0.02)
        fig.tight_layout()
        return figure_svg(fig)


@dataclass(frozen=True)
class PrPanel:
    title: str
    recall: Sequence[float]
    candidate: Sequence[float] | None
    baseline: Sequence[float] | None
    candidate_ap: float | None = None
    baseline_ap: float | None = None


def _curve(values: Sequence[float] | None) -> list[float] | None:
    # pycocotools marks recall levels a model never reaches with -1; they are not precision 0.
    if values is None:
        return None
    return [v if v >= 0 else math.nan for v in values]


def pr_curves_svg(panels: Sequence[PrPanel], columns: int = 4) -> str:
    """Precision-recall small multiples: candidate (solid) over baseline (dashed)."""
    with plot_style():
        import matplotlib.pyplot as plt

        n = max(len(panels), 1)
        cols = min(columns, n)
        rows = math.ceil(n / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(2.9 * cols, 2.5 * rows), squeeze=False)
        for index, ax in enumerate(axes.flat):
            if index >= len(panels):
                ax.set_visible(False)
                continue
            panel = panels[index]
            for values, colour, style, label, ap in (
                (panel.baseline, BASELINE_COLOUR, "--", "baseline", panel.baseline_ap),
                (panel.candidate, CANDIDATE_COLOUR, "-", "candidate", panel.candidate_ap),
            ):
                curve = _curve(values)
                if curve is not None:
                    text = label if ap is None else f"{label} AP50 {ap:.3f}"
                    ax.plot(panel.recall, curve, style, color=colour, linewidth=1.6, label=text)
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1.02)
            ax.set_xlabel("recall")
            ax.set_ylabel("precision")
            ax.set_title(panel.title, fontsize=9)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, loc="lower left")
        fig.tight_layout()
        return figure_svg(fig)


@dataclass(frozen=True)
class LatencyBar:
    backend: str
    candidate_p50: float | None
    candidate_p99: float | None
    baseline_p50: float | None
    baseline_p99: float | None


def latency_svg(bars: Sequence[LatencyBar]) -> str:
    """p50 bars per backend, candidate beside baseline, with a tick at p99."""
    with plot_style():
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(1.6 + 1.3 * max(len(bars), 1), 3.0))
        width = 0.38
        for offset, side, colour in ((-width / 2, "candidate", CANDIDATE_COLOUR), (width / 2, "baseline", BASELINE_COLOUR)):
            xs = [i + offset for i in range(len(bars))]
            p50 = [getattr(b, f"{side}_p50") or 0.0 for b in bars]
            p99 = [getattr(b, f"{side}_p99") for b in bars]
            ax.bar(xs, p50, width=width, color=colour, label=f"{side} p50")
            ax.scatter([x for x, v in zip(xs, p99, strict=True) if v is not None], [v for v in p99 if v is not None],
                       marker="_", s=200, color="black", label="p99" if side == "candidate" else None, zorder=3)
        ax.set_xticks(range(len(bars)))
        ax.set_xticklabels([b.backend for b in bars])
        ax.set_ylabel("ms per image (batch 1)")
        ax.set_title("latency per backend")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        return figure_svg(fig)


def series_svg(x_labels: Sequence[str], series: dict[str, Sequence[float | None]], ylabel: str, title: str,
               highlight_last: bool = False) -> str:
    """Lines over ordered x positions (e.g. baseline versions), one per named series."""
    with plot_style():
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7.5, 3.4))
        for name in sorted(series):
            points = [(i, v) for i, v in enumerate(series[name]) if v is not None]
            if points:
                ax.plot([i for i, _ in points], [v for _, v in points], marker="o", linewidth=1.4, label=name)
        if highlight_last and x_labels:
            ax.axvspan(len(x_labels) - 1.4, len(x_labels) - 0.6, color="#fde68a", alpha=0.5, zorder=0)
        ax.set_xlim(-0.5, max(len(x_labels), 1) - 0.5)
        ax.set_xticks(range(len(x_labels)))
        ax.set_xticklabels(list(x_labels), rotation=15, ha="right", fontsize=8)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        if series:
            ax.legend(fontsize=7, ncol=2, loc="best")
        fig.tight_layout()
        return figure_svg(fig)


def history_trend_svg(points, metric: str) -> str:
    """The history store's trend plot (gate.history.trend.render_trend) as inline markup."""
    from gate.history.trend import render_trend

    with plot_style():
        return svg_markup(render_trend(points, metric, "svg"))
