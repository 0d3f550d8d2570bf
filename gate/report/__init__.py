"""Reports of a verdict: self-contained HTML, PR-comment Markdown, JUnit XML; and the release sign-off.

    from gate.report import write_verdict_reports
    paths = write_verdict_reports(verdict, "reports/ci")   # report.html, summary.md, junit.xml

Each format is also available alone: `render_html`, `render_markdown`, `render_junit`
(gate.report.html / markdown / junit); `gate.report.signoff` renders the release sign-off document.
Heavy imports (matplotlib, PIL) happen inside the functions that need them.
"""

from __future__ import annotations

from pathlib import Path

from gate.stages import timed

REPORT_HTML = "report.html"
SUMMARY_MD = "summary.md"
JUNIT_XML = "junit.xml"


@timed("report")
def write_verdict_reports(verdict, out_dir: str | Path, **options) -> dict[str, Path]:
    """Write report.html, summary.md and junit.xml into `out_dir` (atomically); returns format -> path.

    `options` go to the HTML report: `cache`, `suites_dir`, `data` (where the gallery finds suite
    images), `history_db` (the trend), `gallery_per_kind`.
    """
    from gate.report.html import render_html
    from gate.report.junit import render_junit
    from gate.report.markdown import render_markdown
    from gate.report.view import ReportView
    from gate.storage import atomic_write_text, ensure_dir

    out_dir = ensure_dir(out_dir)
    paths = {"html": out_dir / REPORT_HTML, "md": out_dir / SUMMARY_MD, "junit": out_dir / JUNIT_XML}
    view = ReportView(verdict, **options)  # built once; each format only renders it
    atomic_write_text(paths["html"], render_html(view))
    atomic_write_text(paths["md"], render_markdown(view, report_location=str(paths["html"])))
    atomic_write_text(paths["junit"], render_junit(view))
    return paths


__all__ = ["JUNIT_XML", "REPORT_HTML", "SUMMARY_MD", "write_verdict_reports"]
