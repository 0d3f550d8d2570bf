"""A report of one thing in one format, chosen by name: what `tsrgate report` writes.

The source is a verdict (its file, or the folder `tsrgate compare --out` wrote) or a run's results
folder; the format is html, md, junit or json. The renderers themselves live in html.py, markdown.py,
junit.py and run_report.py; this module only picks one.
"""

from __future__ import annotations

from pathlib import Path

FORMATS = ("html", "md", "junit", "json")


def load_report_source(source: Path):
    """A verdict (file, or the folder `tsrgate compare --out` wrote), or a run results folder (returned as a Path)."""
    from gate.compare import load_verdict
    from gate.results.verdict import VERDICT_FILE
    from gate.errors import InputError
    from gate.results import RESULTS_INDEX
    from gate.results.record import RUN_FILE

    if source.is_dir():
        if (source / VERDICT_FILE).is_file():
            return load_verdict(source / VERDICT_FILE)
        if (source / RUN_FILE).is_file() or (source / RESULTS_INDEX).is_file():
            return source
        raise InputError(f"neither a verdict folder (no {VERDICT_FILE}) nor a results folder (no {RUN_FILE})",
                         path=source)
    return load_verdict(source)


def render_verdict(verdict, fmt: str, **options) -> str:
    from gate.storage import dump_json

    if fmt == "html":
        from gate.report.html import render_html

        return render_html(verdict, **options)
    if fmt == "md":
        from gate.report.markdown import render_markdown

        return render_markdown(verdict)
    if fmt == "junit":
        from gate.report.junit import render_junit

        return render_junit(verdict)
    return dump_json(verdict.model_dump(mode="json"))


def render_results(folder: Path, fmt: str) -> str:
    """A single run's report (no comparison): HTML, Markdown table, or its run record as JSON."""
    from gate.errors import InputError
    from gate.storage import dump_json

    if fmt == "junit":
        raise InputError("JUnit reports judge rules, which needs a verdict: run "
                         f"`tsrgate compare {folder} BASELINE --out DIR` (it writes junit.xml)", path=folder)
    if fmt == "html":
        from gate.report.run_report import render_run_html

        return render_run_html(folder)
    if fmt == "md":
        from gate.report.run_report import render_run_markdown

        return render_run_markdown(folder)
    from gate.report.run_report import open_results

    return dump_json(open_results(folder).record.model_dump(mode="json"))


def render_report(source: Path, fmt: str, **options) -> tuple[str, str]:
    """(text, what it describes) of SOURCE in format `fmt`; `options` go to the HTML verdict report
    (`cache`, `suites_dir`, `data`, `history_db`, `gallery_per_kind`)."""
    loaded = load_report_source(source)
    if isinstance(loaded, Path):
        return render_results(loaded, fmt), f"results of {loaded}"
    return render_verdict(loaded, fmt, **options), f"a {loaded.outcome} verdict"
