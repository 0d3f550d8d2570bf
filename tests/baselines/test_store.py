from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time

import pytest

from gate.baselines import BaselineStore
from gate.errors import InputError, IntegrityError, RefusedError
from gate.results import RESULTS_INDEX, load_results_index, seal_results_folder
from gate.storage import sha256_file


def make_results(folder, payload: str = "a", files: int = 3):
    (folder / "clean" / "torch").mkdir(parents=True)
    for i in range(files):
        (folder / "clean" / "torch" / f"part{i:03d}.json").write_text(json.dumps({"i": i, "p": payload}) * 50)
    seal_results_folder(folder, header={"payload": payload})
    return folder


def test_promote_then_load(tmp_path):
    res = make_results(tmp_path / "res")
    store = BaselineStore(tmp_path / "baselines")
    version = store.promote(res, "synth", signed_by="alice")
    assert version.version == "v0001"
    assert store.lines() == ["synth"]
    index = load_results_index(store.results_path("synth"))
    assert index.header == {"payload": "a"}
    record = store.signoff("synth", "v0001")
    assert record.signed_by == "alice" and record.results_index_sha256


def test_replace_requires_force_and_keeps_history(tmp_path):
    store = BaselineStore(tmp_path / "baselines")
    store.promote(make_results(tmp_path / "a", "a"), "synth")
    with pytest.raises(RefusedError, match="pass --force"):
        store.promote(make_results(tmp_path / "b", "b"), "synth")
    assert store.current_version("synth") == "v0001"
    store.promote(tmp_path / "b", "synth", force=True)
    history = store.history("synth")
    assert [(v.version, v.current) for v in history] == [("v0001", False), ("v0002", True)]
    assert load_results_index(store.results_path("synth")).header == {"payload": "b"}


def test_unknown_line_is_input_error(tmp_path):
    with pytest.raises(InputError, match="no baseline for line 'nope'"):
        BaselineStore(tmp_path).results_path("nope")


def test_tampered_results_are_not_promoted(tmp_path):
    res = make_results(tmp_path / "res")
    (res / "clean" / "torch" / "part000.json").write_text("{}")
    store = BaselineStore(tmp_path / "baselines")
    with pytest.raises(IntegrityError):
        store.promote(res, "synth")
    assert store.lines() == []


def write_verdict(path, results, outcome: str = "pass"):
    """A verdict whose candidate is `results` and whose one rule gave `outcome`."""
    from gate.policy import RuleOutcome
    from gate.results.record import ModelProvenance
    from gate.results.verdict import BootstrapSettings, GateVerdict, PolicyProvenance, SideProvenance

    model = ModelProvenance(name="m", version="1", path="models/m", card_sha256="c" * 64, weights_sha256="w" * 64,
                            class_names=["stop"], score_threshold=0.5)

    def side(folder):
        return SideProvenance(results_path=str(folder), results_index_sha256=sha256_file(folder / RESULTS_INDEX),
                              created_at="2026-01-01T00:00:00Z", model=model, suites=[], backends=[], libraries={},
                              machine={})

    rule = RuleOutcome(rule_id="ap-drop", metric="ap", severity="fail", outcome=outcome, reason="test")
    verdict = GateVerdict(outcome=outcome, created_at="2026-01-01T00:00:00Z",
                          policy=PolicyProvenance(name="default", path="p.yaml", sha256="p" * 64),
                          candidate=side(results), baseline=side(results), suites=["clean"],
                          bootstrap=BootstrapSettings(resamples=10, confidence=0.95, seed=0, min_support=1),
                          counts={outcome: 1}, outcomes=[rule], comparisons=[])
    verdict.save(path)
    return path


def test_failed_verdict_cannot_be_promoted(tmp_path):
    res = make_results(tmp_path / "res")
    verdict = write_verdict(tmp_path / "verdict.json", res, outcome="fail")
    store = BaselineStore(tmp_path / "baselines")
    with pytest.raises(RefusedError, match="verdict failed"):
        store.promote(res, "synth", verdict_path=verdict)
    assert store.lines() == []


def test_passing_verdict_is_cited_in_the_signoff(tmp_path):
    res = make_results(tmp_path / "res")
    verdict = write_verdict(tmp_path / "verdict.json", res, outcome="pass")
    store = BaselineStore(tmp_path / "baselines")
    version = store.promote(res, "synth", verdict_path=verdict)
    cited = store.signoff("synth", version.version).verdict
    assert cited.outcome == "pass" and cited.sha256 == sha256_file(verdict)


def test_hand_edited_verdict_outcome_is_refused(tmp_path):
    res = make_results(tmp_path / "res")
    verdict = write_verdict(tmp_path / "verdict.json", res, outcome="fail")
    raw = json.loads(verdict.read_text())
    raw["outcome"] = "pass"  # the rules still say fail
    verdict.write_text(json.dumps(raw))
    store = BaselineStore(tmp_path / "baselines")
    with pytest.raises(InputError, match="field 'outcome'.*edited by hand"):
        store.promote(res, "synth", verdict_path=verdict)
    assert store.lines() == []


def test_verdict_of_another_results_folder_is_refused(tmp_path):
    other = make_results(tmp_path / "other", payload="other")
    verdict = write_verdict(tmp_path / "verdict.json", other, outcome="pass")
    store = BaselineStore(tmp_path / "baselines")
    with pytest.raises(RefusedError, match="another results folder"):
        store.promote(make_results(tmp_path / "res"), "synth", verdict_path=verdict)
    assert store.lines() == []


def test_file_that_is_not_a_verdict_is_refused(tmp_path):
    verdict = tmp_path / "verdict.json"
    verdict.write_text(json.dumps({"outcome": "pass"}))
    store = BaselineStore(tmp_path / "baselines")
    with pytest.raises(InputError, match="not a tsrgate verdict"):
        store.promote(make_results(tmp_path / "res"), "synth", verdict_path=verdict)


def test_cli_promote_list_show(tmp_path, run_cli):
    res = make_results(tmp_path / "res")
    bdir = tmp_path / "baselines"
    result = run_cli("baseline", "promote", res, "--line", "synth", "--signed-by", "bob", "--baselines-dir", bdir)
    assert result.exit_code == 0, result.output
    again = run_cli("baseline", "promote", res, "--line", "synth", "--baselines-dir", bdir)
    assert again.exit_code == 2 and "pass --force" in again.output and "Traceback" not in again.output
    listing = run_cli("baseline", "list", "--baselines-dir", bdir)
    assert "synth" in listing.output and "v0001" in listing.output
    shown = run_cli("baseline", "show", "synth", "--baselines-dir", bdir)
    assert "by bob" in shown.output


def test_kill_during_promote_never_leaves_a_broken_baseline(tmp_path):
    """SIGKILL `baseline promote --force` at random moments; the line must always load and verify."""
    store = BaselineStore(tmp_path / "baselines")

    def promote(results) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "gate", "baseline", "promote", str(results),
             "--line", "synth", "--force", "--baselines-dir", str(store.root)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    # The kill window is sized from one uninterrupted promotion on this machine, so a slow or loaded
    # machine still sees kills both before and after the promotion completes.
    started = time.monotonic()
    assert promote(make_results(tmp_path / "first", "first", files=200)).wait() == 0
    window = 1.3 * (time.monotonic() - started)
    candidates = [make_results(tmp_path / f"r{i}", f"r{i}", files=200) for i in range(2)]
    rng = random.Random(1234)
    headers_seen = set()
    for attempt in range(14):
        proc = promote(candidates[attempt % 2])
        time.sleep(rng.uniform(0.0, window))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        index = load_results_index(store.results_path("synth"), verify=True)
        headers_seen.add(index.header["payload"])
        for version in store.history("synth"):
            load_results_index(version.results_path, verify=True)
    # The kills landed at different moments: at least one promotion completed, at least one did not.
    assert headers_seen - {"first"}, "no promotion ever completed; the kill window is mis-sized"
