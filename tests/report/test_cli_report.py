"""`tsrgate report` in every format, its bad inputs, and the reports `tsrgate compare --out` writes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from gate.compare import load_verdict
from gate.report.markdown import REPORT_MARKER
from tests.absent_backend import ABSENT, ABSENT_REASON


def _locations(report_gate) -> list[str]:
    return ["--cache", str(report_gate.cache), "--suites-dir", str(report_gate.suites_dir),
            "--history-db", str(report_gate.history_db)]


def _error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("fmt, check", [
    ("html", lambda text: 'class="banner fail"' in text and "</html>" in text),
    ("md", lambda text: text.startswith(REPORT_MARKER)),
    ("junit", lambda text: ET.fromstring(text.encode()).tag == "testsuites"),
    ("json", lambda text: json.loads(text)["kind"] == "tsrgate_verdict"),
])
def test_report_formats(run_cli, report_gate, tmp_path, fmt, check):
    out = tmp_path / f"report.{fmt}"
    result = run_cli("report", report_gate.verdict_path, "--format", fmt, "--out", out, *_locations(report_gate))
    assert result.exit_code == 0, result.output
    assert check(out.read_text(encoding="utf-8"))
    assert f"{fmt} report of a fail verdict written to {out}" in result.output


def test_json_format_round_trips(run_cli, report_gate, verdict, tmp_path):
    out = tmp_path / "verdict.json"
    assert run_cli("report", report_gate.verdict_path, "--format", "json", "--out", out).exit_code == 0
    assert load_verdict(out) == verdict


def test_report_accepts_the_compare_output_folder(run_cli, report_gate, tmp_path):
    out = tmp_path / "summary.md"
    result = run_cli("report", report_gate.verdict_path.parent, "--format", "md", "--out", out)
    assert result.exit_code == 0, result.output
    assert "tsrgate verdict: FAIL" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt, expected", [
    ("html", "Results (no comparison)"),
    ("md", "| shapes-clean | torch | ok |"),
    ("json", '"kind": "tsrgate_run"'),
])
def test_a_run_results_folder_gets_a_single_run_report(run_cli, report_gate, tmp_path, fmt, expected):
    out = tmp_path / f"run.{fmt}"
    result = run_cli("report", report_gate.candidate_results, "--format", fmt, "--out", out)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert expected in text
    if fmt == "html":
        assert "<script" not in text.lower() and f"{ABSENT}</b>: unavailable ({ABSENT_REASON})" in text
        assert "yellow_triangle" in text and "<svg" in text


def test_junit_of_a_run_results_folder_is_refused_with_the_way_forward(run_cli, report_gate, tmp_path):
    result = run_cli("report", report_gate.candidate_results, "--format", "junit", "--out", tmp_path / "r.xml")
    assert result.exit_code == 2
    assert "tsrgate compare" in _error_line(result)
    assert not (tmp_path / "r.xml").exists()


def test_a_folder_that_is_neither_is_a_one_line_error(run_cli, tmp_path):
    result = run_cli("report", tmp_path, "--out", tmp_path / "r.html")
    assert result.exit_code == 2
    assert "neither a verdict folder" in _error_line(result)


def test_a_tampered_results_folder_is_refused(run_cli, report_gate, tmp_path):
    import shutil

    copy = tmp_path / "results"
    shutil.copytree(report_gate.candidate_results, copy)
    (copy / "run.json").write_text((copy / "run.json").read_text() + " ", encoding="utf-8")
    result = run_cli("report", copy, "--out", tmp_path / "r.html")
    assert result.exit_code == 2
    assert "sha256 differs" in _error_line(result)


@pytest.mark.parametrize("edit, field", [
    (lambda raw: raw.update(outcome="pass"), "outcome"),
    (lambda raw: raw.update(format=99), "format"),
    (lambda raw: raw["outcomes"][0].update(outcome="maybe"), "outcomes.0.outcome"),
    (lambda raw: raw.pop("policy"), "policy"),
])
def test_hand_edited_verdicts_are_one_line_errors_naming_the_field(run_cli, report_gate, tmp_path, edit, field):
    raw = json.loads(report_gate.verdict_path.read_text(encoding="utf-8"))
    edit(raw)
    edited = tmp_path / "verdict.json"
    edited.write_text(json.dumps(raw), encoding="utf-8")
    result = run_cli("report", edited, "--format", "html", "--out", tmp_path / "r.html")
    assert result.exit_code == 2
    line = _error_line(result)
    assert f"field '{field}'" in line and str(edited) in line
    assert not (tmp_path / "r.html").exists()


def test_not_json_is_a_one_line_error(run_cli, tmp_path):
    bad = tmp_path / "verdict.json"
    bad.write_text("{not json", encoding="utf-8")
    result = run_cli("report", bad, "--out", tmp_path / "r.html")
    assert result.exit_code == 2
    assert "not valid JSON" in _error_line(result)


def test_compare_writes_the_reports_and_the_github_summary(run_cli, report_gate, tmp_path, monkeypatch):
    monkeypatch.setenv("TSRGATE_CACHE", str(report_gate.cache))
    monkeypatch.setenv("TSRGATE_SUITES", str(report_gate.suites_dir))
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    out = tmp_path / "ci"
    result = run_cli("compare", report_gate.candidate_results, report_gate.baseline_results, "--out", out,
                     "--no-latency", "--github", "--history-db", tmp_path / "history.sqlite")
    assert result.exit_code == 1, result.output
    for name in ("verdict.json", "report.html", "summary.md", "junit.xml"):
        assert (out / name).is_file(), name
    assert "::error title=tsrgate suite-ap50::" in result.output
    step_summary = summary.read_text(encoding="utf-8")
    assert step_summary.startswith(REPORT_MARKER)
    assert str(out / "report.html") in step_summary
    verdict = load_verdict(out / "verdict.json")
    junit = ET.fromstring((out / "junit.xml").read_bytes())
    assert int(junit.get("failures")) == verdict.counts["fail"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html  # the gallery found the suite images through $TSRGATE_CACHE
