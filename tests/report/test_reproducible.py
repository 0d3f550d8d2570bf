"""`compare` is a pure function of its inputs: the same results folders give byte-identical outputs."""

from __future__ import annotations

import json

OUTPUTS = ("verdict.json", "junit.xml", "summary.md", "report.html")


def _compare(run_cli, report_gate, out, history_db):
    # --no-latency: re-timing the models is a fresh measurement, so it is left out of this identity.
    result = run_cli("compare", report_gate.candidate_results, report_gate.baseline_results, "--out", out,
                     "--no-latency", "--history-db", history_db)
    assert result.exit_code == 1, result.output  # the fixture's candidate fails
    return {name: (out / name).read_bytes() for name in OUTPUTS}


def test_compare_twice_gives_byte_identical_outputs(report_gate, tmp_path, run_cli, monkeypatch):
    from gate.run import load_run

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    history_db = tmp_path / "history.sqlite"  # both runs record themselves: the history must not leak in
    # Same --out both times: summary.md names where report.html is, so the output folder is an input too.
    first = _compare(run_cli, report_gate, tmp_path / "out", history_db)
    second = _compare(run_cli, report_gate, tmp_path / "out", history_db)
    for name in OUTPUTS:
        assert first[name] == second[name], f"{name} differs between two compares of the same inputs"
    # The verdict's time is the newest of its inputs' own times, not the clock.
    newest = max(load_run(report_gate.candidate_results).created_at, load_run(report_gate.baseline_results).created_at)
    assert json.loads(first["verdict.json"])["created_at"] == newest


def test_source_date_epoch_sets_the_time_in_every_output(report_gate, tmp_path, run_cli, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    outputs = _compare(run_cli, report_gate, tmp_path / "out", tmp_path / "history.sqlite")
    assert json.loads(outputs["verdict.json"])["created_at"] == "2023-11-14T22:13:20+00:00"
    assert b'timestamp="2023-11-14T22:13:20"' in outputs["junit.xml"]
    assert b"2023-11-14T22:13:20+00:00" in outputs["report.html"]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    result = run_cli("compare", report_gate.candidate_results, report_gate.baseline_results, "--no-latency",
                     "--no-history")
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        "error: $SOURCE_DATE_EPOCH must be whole seconds since 1970, got 'yesterday'")
