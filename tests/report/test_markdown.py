"""The PR-comment Markdown: marker, a real table in a GFM renderer, escaping, size limit."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from gate.report.markdown import MAX_CHARS, REPORT_MARKER, md_code, md_escape, render_markdown
from tests.absent_backend import ABSENT, ABSENT_REASON


def _render(text: str) -> str:
    return MarkdownIt("commonmark").enable("table").render(text)


def _table_rows(html: str) -> list[list[str]]:
    table = html[html.index("<table>"):html.index("</table>")]
    return [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]


def test_marker_verdict_and_report_location(verdict):
    text = render_markdown(verdict, report_location="reports/ci/report.html")
    assert text.splitlines()[0] == REPORT_MARKER
    assert "## tsrgate verdict: FAIL" in text
    assert "`reports/ci/report.html`" in text
    assert len(text) < MAX_CHARS


def test_flagged_rules_render_as_a_table(verdict):
    html = _render(render_markdown(verdict))
    rows = _table_rows(html)
    flagged = [o for o in verdict.outcomes if o.outcome in ("fail", "warn")]
    assert len(rows) == 1 + len(flagged)
    assert all(len(row) == 8 for row in rows)
    outcomes = [row[0] for row in rows[1:]]
    assert outcomes == sorted(outcomes, key=lambda o: o != "FAIL")  # failures first
    assert outcomes.count("FAIL") == verdict.counts["fail"]


def test_top_three_regressions_and_a_line_per_backend(verdict):
    html = _render(render_markdown(verdict))
    regressions = html[html.index("Top regressions"):html.index("Backends")]
    assert regressions.count("<li>") == 3
    assert "yellow_triangle" in regressions
    backends = html[html.index("<h3>Backends</h3>"):]
    for b in verdict.candidate.backends:
        assert f"<strong>{b.name}</strong>" in backends
    assert f"{ABSENT}</strong>: unavailable ({ABSENT_REASON})" in backends


def test_hostile_class_names_cannot_break_the_table_or_inject_markup(verdict):
    hostile = '<script>x</script> | *bold* `code`'
    outcomes = [o.model_copy(update={"class_name": hostile, "reason": f"class {hostile} dropped"})
                if o.outcome == "fail" else o for o in verdict.outcomes]
    html = _render(render_markdown(verdict.model_copy(update={"outcomes": outcomes})))
    assert "<script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt; | *bold* `code`" in html
    assert all(len(row) == 8 for row in _table_rows(html))


@pytest.mark.parametrize("text", ["a|b", "a\\|b", "<b>", "line\nbreak", "_x_", "[link](http://x)"])
def test_md_escape_round_trips_as_plain_text(text):
    rendered = _render(f"| h |\n|---|\n| {md_escape(text)} |\n")
    cell = _table_rows(rendered)[1][0]
    expected = " ".join(text.split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert cell == expected


@pytest.mark.parametrize("text", ["reports/ci/report.html", "a_b*c", "x`y", "`edge`", "<script>"])
def test_md_code_shows_the_text_literally(text):
    rendered = _render(md_code(text))
    expected = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert f"<code>{expected}</code>" in rendered


def test_long_verdicts_are_truncated_under_the_limit(verdict):
    template = next(o for o in verdict.outcomes if o.outcome == "fail")
    many = [template.model_copy(update={"rule_id": f"rule-{i}", "reason": "x" * 400}) for i in range(3000)]
    text = render_markdown(verdict.model_copy(update={"outcomes": many, "counts": {**verdict.counts, "fail": 3000}}))
    assert len(text) <= MAX_CHARS
    match = re.search(r"\| \.\.\. (\d+) more \|", text)
    assert match is not None
    shown = len(_table_rows(_render(text))) - 2  # header and the "more" row
    assert shown + int(match.group(1)) == 3000


def test_a_passing_verdict_says_so(verdict):
    passing = [o for o in verdict.outcomes if o.outcome not in ("fail", "warn")]
    text = render_markdown(verdict.model_copy(update={"outcome": "pass", "outcomes": passing}))
    assert "tsrgate verdict: PASS" in text
    assert "No rule failed or warned." in text
