"""The HTML verdict report: content, order, self-containment, escaping, missing inputs, determinism."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from gate.policy import RuleOutcome
from gate.report.html import render_html
from gate.report.sections import heatmap_data
from tests.absent_backend import ABSENT, ABSENT_REASON

EVIL_CLASS = '<script>alert("x")</script>'
QUOTED_FOLDER = 'res "double" \'single\' <b>'


def test_banner_and_failing_rules_come_first(verdict, report_options):
    html = render_html(verdict, **report_options)
    assert verdict.outcome == "fail"
    banner = html.index('class="banner fail"')
    failing = [o for o in verdict.outcomes if o.outcome == "fail"]
    warnings = [o for o in verdict.outcomes if o.outcome == "warn"]
    assert failing and warnings
    first_warning = html.index("Warnings (")
    # Every failing rule appears, with its p-values when tested, between the banner and the warnings.
    from gate.report.grouping import p_text

    for o in failing:
        position = html.index(f"<code>{o.rule_id}</code>")
        assert banner < position < first_warning
        if o.p_value is not None:
            assert p_text(o) in html[position:first_warning]
    assert f"Failing rules ({len(failing)})" in html
    assert "reason</th>" not in html  # no column repeating what the others say


def test_warnings_are_grouped_with_rows_folded(verdict, report_options):
    from gate.report.grouping import group_outcomes

    html = render_html(verdict, **report_options)
    groups = group_outcomes(verdict.warnings())
    assert html.count('<details class="group">') >= len(groups)
    assert f"Warnings ({len(verdict.warnings())} in {len(groups)} rule x suite groups)" in html
    first = groups[0]
    assert f"<code>{first.rule_id}</code> on <b>{first.suite}</b>: {first.count} scope" in html


def test_a_preprocessing_change_is_named_first(verdict, report_options):
    from gate.results.verdict import PreprocessingComparison

    changed = verdict.model_copy(update={"preprocessing": PreprocessingComparison(
        changed=True, changes=["channel_order: rgb -> bgr", "probe tensor sha256: aaaaaaaaaaaa -> bbbbbbbbbbbb"],
        probe="the same probe images give different input tensors")})
    html = render_html(changed, **report_options)
    finding = html.index('id="preprocessing"')
    assert html.index('class="banner fail"') < finding < html.index('id="rules"')
    assert "channel_order: rgb -&gt; bgr" in html[finding:html.index('id="rules"')]
    from gate.report.markdown import render_markdown

    text = render_markdown(changed)
    assert text.index("**Preprocessing changed**: channel\\_order: rgb -&gt; bgr") < text.index("Rules:")


def test_sections_are_filled_from_the_results(verdict, report_options):
    html = render_html(verdict, **report_options)
    for anchor in ("heatmap", "pr", "sizes", "tide", "confusions", "backends", "gallery", "history", "provenance"):
        assert f'id="{anchor}"' in html
    assert html.count("<svg") >= 4  # heatmap, PR overall, worst class, latency
    assert f"{ABSENT}</b>: unavailable ({ABSENT_REASON})" in html
    assert "Worst class: yellow_triangle" in html  # the class the fixture planted a regression on
    for suite in verdict.candidate.suites:
        assert suite.manifest_sha256 in html
    assert verdict.candidate.model.weights_sha256 in html
    assert verdict.policy.sha256 in html
    assert verdict.candidate.libraries["torch"] in html
    # Gallery: the candidate's misses are drawn as PNG crops.
    assert html.count('src="data:image/png;base64,') >= 1
    assert "missed: the baseline found it, the candidate did not" in html


def test_heatmap_marks_significant_cells_and_greys_unjudged(verdict):
    classes, suites, cells = heatmap_data(verdict)
    assert set(suites) == set(verdict.suites)
    planted = [cells[("yellow_triangle", s)] for s in suites]
    assert all(c.judged and c.delta < 0 and c.ci_excludes_zero for c in planted)
    floor = verdict.bootstrap.min_support
    for cell in cells.values():
        if cell.support is not None and cell.support < floor:
            assert not cell.judged


def test_self_contained(verdict, report_options):
    html = render_html(verdict, **report_options)
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "@import" not in html
    assert "@font-face" not in html
    for attribute, value in re.findall(r'\b(src|href)\s*=\s*"([^"]*)"', html):
        assert value.startswith(("#", "data:")), f"{attribute}={value[:60]}"
    assert not re.search(r"url\(\s*['\"]?https?:", html)
    # The only web addresses left are SVG's XML namespace names, which are never fetched.
    addresses = set(re.findall(r"https?://[^\s\"'<>]+", html))
    assert addresses <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, addresses


def _verdict_with_hostile_names(verdict, tmp_path: Path):
    """The fixture's verdict with a class named like a script tag and results folders named with quotes."""
    sides = {}
    for side in ("candidate", "baseline"):
        original = getattr(verdict, side)
        copy = tmp_path / QUOTED_FOLDER / side
        shutil.copytree(original.results_path, copy)
        sides[side] = original.model_copy(update={
            "results_path": str(copy),
            "model": original.model.model_copy(update={"name": f'model "{side}" <i>&amp;'}),
        })

    def rename(item):
        if not item.class_name or "yellow_triangle" not in item.class_name:
            return item
        update = {"class_name": item.class_name.replace("yellow_triangle", EVIL_CLASS)}
        if isinstance(item, RuleOutcome):
            update["reason"] = item.reason.replace("yellow_triangle", EVIL_CLASS)
        return item.model_copy(update=update)

    return verdict.model_copy(update={
        **sides,
        "comparisons": [rename(c) for c in verdict.comparisons],
        "outcomes": [rename(o) for o in verdict.outcomes],
    })


def test_user_strings_are_escaped(verdict, report_options, tmp_path):
    hostile = _verdict_with_hostile_names(verdict, tmp_path)
    html = render_html(hostile, **report_options)
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html  # jinja's escaping in tables
    assert "&lt;script&gt;alert(\"x\")&lt;/script&gt;</text>" in html  # matplotlib escapes the SVG text
    assert QUOTED_FOLDER not in html
    assert "res &#34;double&#34; &#39;single&#39; &lt;b&gt;" in html
    assert "<i>" not in html
    assert "model &#34;candidate&#34; &lt;i&gt;&amp;amp;" in html
    # The results were still found through the quoted folder: the gallery and TIDE table are filled.
    assert "Results behind this verdict are not all here" not in html
    assert 'src="data:image/png;base64,' in html


def _gallery(html: str, suite: str | None = None) -> str:
    part = html[html.index('id="gallery"'):html.index('id="history"')]
    if suite is None:
        return part
    start = part.index(f"<h3>{suite}</h3>")
    end = part.find("<h3>", start + 1)
    return part[start:] if end < 0 else part[start:end]


def test_missing_suite_images_are_reported_in_the_gallery(verdict, report_options, tmp_path):
    # The night suite's images live in the render cache; the clean suite shows source images as they are.
    html = render_html(verdict, **dict(report_options, cache=tmp_path / "empty-cache"))
    night = _gallery(html, "shapes-night")
    assert "images unavailable" in night
    assert "not in the suite cache" in night
    assert "data:image/png" not in night
    assert "yellow_triangle" in night  # the examples are still listed, without pictures
    assert "data:image/png" in _gallery(html, "shapes-clean")


def test_missing_source_dataset_is_reported_in_the_gallery(verdict, report_options, tmp_path):
    html = render_html(verdict, **dict(report_options, cache=tmp_path / "empty-cache", data=tmp_path / "gone"))
    gallery = _gallery(html)
    assert "data:image/png" not in gallery
    assert "source image is missing" in gallery


def test_missing_results_folder_is_a_note_not_a_failure(verdict, report_options, tmp_path):
    gone = verdict.model_copy(update={
        "baseline": verdict.baseline.model_copy(update={"results_path": str(tmp_path / "deleted")}),
    })
    html = render_html(gone, **report_options)
    assert "Results behind this verdict are not all here" in html
    assert "not here" in html
    # What the verdict itself holds is still shown.
    for o in verdict.failing():
        assert f"<code>{o.rule_id}</code></td>\n<td>{o.scope_label}</td>" in html


def test_results_changed_since_the_verdict_are_not_used(verdict, report_options, tmp_path):
    copy = tmp_path / "candidate"
    shutil.copytree(verdict.candidate.results_path, copy)
    (copy / "results-index.json").write_text((copy / "results-index.json").read_text() + "\n")
    changed = verdict.model_copy(update={"candidate": verdict.candidate.model_copy(update={"results_path": str(copy)})})
    html = render_html(changed, **report_options)
    assert "changed since the verdict" in html


def test_rendering_is_deterministic(verdict, report_options):
    assert render_html(verdict, **report_options) == render_html(verdict, **report_options)


@pytest.mark.parametrize("outcome", ["pass", "warn"])
def test_banner_colour_follows_the_outcome(verdict, report_options, outcome):
    kept = [o for o in verdict.outcomes if o.outcome != "fail"]
    if outcome == "pass":
        kept = [o for o in kept if o.outcome != "warn"]
    html = render_html(verdict.model_copy(update={"outcome": outcome, "outcomes": kept}), **report_options)
    assert f'class="banner {outcome}"' in html
    assert "No rule failed" in html


def _history_section(html: str) -> str:
    return html[html.index('id="history"'):html.index('id="provenance"')]


def test_history_trend_of_both_models(verdict, report_options, report_gate, tmp_path):
    from gate.run import load_run
    from gate.run.history_hook import record_run

    db = tmp_path / "history.sqlite"
    for folder in (report_gate.baseline_results, report_gate.candidate_results, report_gate.candidate_results):
        record_run(load_run(folder), folder, db)  # the candidate twice: one point per weights hash
    section = _history_section(render_html(verdict, **dict(report_options, history_db=db)))
    assert section.count("<svg") == 1
    assert "shapes-baseline@1.0.0" in section and "shapes-candidate@2.0.0" in section
    assert section.count("shapes-candidate@2.0.0") == 1


def test_no_history_database_is_said_plainly(verdict, report_options, tmp_path):
    section = _history_section(render_html(verdict, **dict(report_options, history_db=tmp_path / "none.sqlite")))
    assert "<svg" not in section
    assert "no recorded runs of" in section and "none.sqlite (history database); nothing to draw" in section
    assert not (tmp_path / "none.sqlite").exists()  # reading a report never creates a database


def test_the_per_class_sections_show_the_form_both_sides_ran(verdict):
    """torch when both sides ran it; an ONNX-only pair (a YOLO export) is shown on onnx, not as empty torch sections."""
    from gate.report.sections import report_backend

    assert report_backend(verdict) == "torch"

    def onnx_only(side):
        ran = [b.model_copy(update={"name": "onnx"}) for b in side.backends if b.name == "torch"]
        failed = [b.model_copy(update={"status": "failed", "reason": "no PyTorch form"}) for b in side.backends
                  if b.name == "torch"]
        return side.model_copy(update={"backends": failed + ran})

    shifted = verdict.model_copy(update={"candidate": onnx_only(verdict.candidate),
                                         "baseline": onnx_only(verdict.baseline)})
    assert report_backend(shifted) == "onnx"
    # Only the candidate lost torch: the first form both still ran (the baseline's onnx, when it ran one).
    one_sided = verdict.model_copy(update={"candidate": onnx_only(verdict.candidate)})
    baseline_onnx = any(b.name == "onnx" and b.status == "ok" for b in verdict.baseline.backends)
    assert report_backend(one_sided) == ("onnx" if baseline_onnx else "torch")
    nothing_shared = verdict.model_copy(update={"candidate": onnx_only(verdict.candidate).model_copy(
        update={"backends": [b for b in onnx_only(verdict.candidate).backends if b.name != "onnx"]})})
    assert report_backend(nothing_shared) == "torch"  # nothing in common: the reference form, whose sections say so
