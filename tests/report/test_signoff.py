"""`tsrgate signoff`: run (or reuse), compare with the line's baseline under the release policy, one HTML."""

from __future__ import annotations

import re

import pytest

from gate.baselines import BaselineStore
from gate.compare import load_verdict
from gate.signoff import release_policy_path
from gate.storage import sha256_file
from tests.report.gate_fixture import SUITES
from tests.absent_backend import ABSENT, ABSENT_REASON


@pytest.fixture()
def line(report_gate, tmp_path) -> dict:
    """A `shapes` line in a fresh baselines folder whose current baseline is the fixture's baseline results."""
    baselines = tmp_path / "baselines"
    BaselineStore(baselines).promote(report_gate.baseline_results, "shapes", signed_by="Release Owner")
    return {"name": "shapes", "baselines": baselines}


def _signoff(run_cli, report_gate, line, tmp_path, *extra):
    return run_cli(
        "signoff", report_gate.candidate_model, "--line", line["name"], "--out", tmp_path / "signoff.html",
        "--backends", f"torch,onnx,{ABSENT}", "--results", tmp_path / "results", "--no-latency",
        "--baselines-dir", line["baselines"], "--cache", report_gate.cache, "--suites-dir", report_gate.suites_dir,
        "--history-db", tmp_path / "history.sqlite", "--prepared-by", "Test <Preparer>", *extra,
    )


def test_signoff_writes_the_document_then_reuses_the_results(run_cli, report_gate, line, tmp_path):
    result = _signoff(run_cli, report_gate, line, tmp_path)
    assert result.exit_code == 1, result.output  # the planted regression fails the release policy
    assert "sign-off verdict: FAIL" in result.output
    assert f"{ABSENT}: unavailable" in result.output
    html = (tmp_path / "signoff.html").read_text(encoding="utf-8")
    verdict_path = tmp_path / "signoff.verdict.json"
    verdict = load_verdict(verdict_path)

    assert verdict.policy.name == "release" and verdict.policy.path == str(release_policy_path())
    assert verdict.suites == list(SUITES)
    assert "Release sign-off: FAIL" in html
    assert "must not be signed off" in html and "Do not sign" in html
    for anchor in ("summary", "suites", "backends", "history", "warnings", "signoff", "provenance"):
        assert f'id="{anchor}"' in html
    assert f"<b>{ABSENT}</b>: unavailable ({ABSENT_REASON})" in html
    # The sign-off block names the exact bytes signed, including the verdict file written beside it.
    block = html[html.index('class="signblock"'):html.index('id="provenance"')]
    for digest in (verdict.candidate.model.weights_sha256, verdict.candidate.model.card_sha256,
                   verdict.candidate.results_index_sha256, verdict.policy.sha256, sha256_file(verdict_path),
                   verdict.baseline.results_index_sha256):
        assert digest in block
    assert "Test &lt;Preparer&gt;" in block
    # History of the line: its one promoted baseline, signed by its owner, and the trend plot.
    history = html[html.index('id="history"'):html.index('id="warnings"')]
    assert "v0001 (current)" in history and "Release Owner" in history
    assert history.count("<svg") >= 2  # the line's baselines + the recorded runs from the history database
    assert "shapes-candidate@2.0.0" in history
    # Open warnings are listed (the fixture's verdict has some).
    warnings = html[html.index('id="warnings"'):html.index('id="signoff"')]
    assert verdict.warnings() and all(w.reason in warnings for w in verdict.warnings())

    again = _signoff(run_cli, report_gate, line, tmp_path)
    assert again.exit_code == 1
    assert "(reused)" in again.output and "reusing " in again.output
    quiet = _signoff(run_cli, report_gate, line, tmp_path, "--quiet")
    assert quiet.exit_code == 1 and "sign-off verdict: FAIL" in quiet.output and "(reused)" in quiet.output
    assert "reusing " not in quiet.output  # the progress lines are what --quiet silences


def test_changed_suite_set_is_not_reused(run_cli, report_gate, line, tmp_path):
    first = _signoff(run_cli, report_gate, line, tmp_path, "--suites", "shapes-clean")
    assert first.exit_code in (0, 1), first.output
    assert "(reused)" not in first.output
    second = _signoff(run_cli, report_gate, line, tmp_path)
    assert "(reused)" not in second.output  # two suites now: the one-suite results do not fit
    assert load_verdict(tmp_path / "signoff.verdict.json").suites == list(SUITES)


@pytest.mark.parametrize("args, message", [
    (["--line", "no-such-line"], "no baseline for line 'no-such-line'"),
    (["--suites", "not-in-baseline"], "the baseline has no results on suite(s) not-in-baseline"),
])
def test_bad_signoff_inputs_are_one_line_errors(run_cli, report_gate, line, tmp_path, args, message):
    base = ["signoff", report_gate.candidate_model, "--out", tmp_path / "s.html", "--baselines-dir",
            line["baselines"], "--suites-dir", report_gate.suites_dir, "--cache", report_gate.cache, "--no-history"]
    if "--line" not in args:
        base += ["--line", line["name"]]
    result = run_cli(*base, *args)
    assert result.exit_code == 2
    errors = [ln for ln in result.output.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0]
    assert not (tmp_path / "s.html").exists()


def test_signoff_output_must_be_html(run_cli, report_gate, line, tmp_path):
    result = run_cli("signoff", report_gate.candidate_model, "--line", line["name"], "--out", tmp_path / "s.pdf",
                     "--baselines-dir", line["baselines"])
    assert result.exit_code == 2
    assert re.search(r"error: .*s\.pdf: the sign-off document is HTML", result.output)
