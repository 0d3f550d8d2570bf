"""`tsrgate compare`: self-comparison passes, a planted drop fails by name, mismatches are refused."""

from __future__ import annotations

import json
import shutil

import pytest

from gate.compare import compare_results, load_verdict
from gate.errors import InputError, RefusedError
from gate.results import seal_results_folder
from gate.results.record import RUN_FILE
from tests.absent_backend import ABSENT, ABSENT_REASON
from tests.gate_fixtures import craft_results, perfect_detections, write_policy

PER_CLASS = {"id": "class-ap50", "metric": "ap50", "scope": {"classes": "all", "backends": ["torch"]},
             "check": {"max_drop": 0.10}}
OVERALL = {"id": "suite-ap", "metric": "ap", "scope": {"backends": ["torch"]}, "check": {"max_drop": 0.05}}


@pytest.fixture(scope="module")
def perfect_pair(gate_env, tmp_path_factory):
    """A perfect baseline and a candidate identical except that it never detects yellow_triangle on fog."""
    root = tmp_path_factory.mktemp("crafted")
    classes = ["red_disc", "blue_square", "yellow_triangle"]
    base = craft_results(gate_env.results, root / "base",
                         lambda suite, backend, s, dets: perfect_detections(s, classes))
    cand = craft_results(gate_env.results, root / "cand", lambda suite, backend, s, dets: perfect_detections(
        s, classes, drop_class="yellow_triangle" if suite == "shapes-fog" else None))
    return base, cand


def test_results_compared_with_themselves_pass(gate_env):
    verdict = compare_results(gate_env.results, gate_env.results, latency=False)
    assert verdict.outcome == "pass"
    assert verdict.counts["fail"] == 0 and verdict.counts["pass"] > 0
    deltas = [r.delta for r in verdict.comparisons if r.metric == "ap" and r.delta is not None]
    assert deltas and all(d == 0 for d in deltas)


def test_rules_on_an_unavailable_backend_are_not_run_with_reason(gate_env, tmp_path):
    rule = {"id": "absent-ap-delta", "metric": "backend_ap_delta", "scope": {"backends": [ABSENT]},
            "check": {"max_value": 0.03}}
    policy = write_policy(tmp_path / "p.yaml", [rule, OVERALL])
    verdict = compare_results(gate_env.results, gate_env.results, policy_path=policy, latency=False)
    absent = [o for o in verdict.outcomes if o.rule_id == "absent-ap-delta"]
    assert absent and all(o.outcome == "not_run" and ABSENT_REASON in o.reason for o in absent)
    assert f"{ABSENT}: unavailable ({ABSENT_REASON})" in verdict.notes


def test_planted_class_drop_on_one_suite_fails_naming_class_and_suite(perfect_pair, tmp_path):
    base, cand = perfect_pair
    policy = write_policy(tmp_path / "p.yaml", [PER_CLASS, OVERALL], min_support=5)
    verdict = compare_results(cand, base, policy_path=policy, latency=False)
    assert verdict.outcome == "fail"
    failing = {(o.rule_id, o.suite, o.class_name) for o in verdict.failing()}
    assert ("class-ap50", "shapes-fog", "yellow_triangle") in failing
    # Nothing else regressed: no other class, and no class on the clean suite, fails.
    assert all(o.class_name in (None, "yellow_triangle") and o.suite == "shapes-fog" for o in verdict.failing())
    failed = next(o for o in verdict.failing() if o.class_name == "yellow_triangle")
    assert failed.ci_high < -0.10 and "yellow_triangle" in failed.reason and "shapes-fog" in failed.reason


def test_cli_exit_codes_and_verdict_file(perfect_pair, tmp_path, run_cli):
    base, cand = perfect_pair
    policy = write_policy(tmp_path / "p.yaml", [PER_CLASS, OVERALL], min_support=5)
    out = tmp_path / "verdict"
    failed = run_cli("compare", cand, base, "--policy", policy, "--out", out, "--no-latency", "--no-history")
    assert failed.exit_code == 1, failed.output
    assert failed.stdout.startswith("verdict: FAIL")
    assert "yellow_triangle" in failed.output
    assert load_verdict(out / "verdict.json").outcome == "fail"
    passed = run_cli("compare", base, base, "--policy", policy, "--no-latency", "--no-history")
    assert passed.exit_code == 0 and passed.stdout.startswith("verdict: PASS")


def test_comparing_across_suite_versions_is_refused(gate_env, tmp_path, run_cli):
    other = tmp_path / "other"
    shutil.copytree(gate_env.results, other)
    run = json.loads((other / RUN_FILE).read_text())
    run["suites"][0]["version"] = "2"
    (other / RUN_FILE).write_text(json.dumps(run))
    (other / "results-index.json").unlink()
    seal_results_folder(other)
    with pytest.raises(RefusedError, match="candidate ran version 2, baseline version 1"):
        compare_results(other, gate_env.results, latency=False)
    result = run_cli("compare", other, gate_env.results, "--no-latency", "--no-history")
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_missing_baseline_and_interrupted_run_are_input_errors(gate_env, tmp_path):
    with pytest.raises(InputError, match="no results folder or baseline line named 'nope'"):
        compare_results(gate_env.results, "nope", baselines_dir=tmp_path, latency=False)
    partial = tmp_path / "partial"
    shutil.copytree(gate_env.results, partial)
    (partial / "results-index.json").unlink()
    with pytest.raises(InputError, match="interrupted run"):
        compare_results(partial, gate_env.results, latency=False)


def test_baseline_line_name_resolves(gate_env, tmp_path):
    from gate.baselines import BaselineStore

    BaselineStore(tmp_path / "baselines").promote(gate_env.results, "shapes")
    verdict = compare_results(gate_env.results, "shapes", baselines_dir=tmp_path / "baselines", latency=False)
    assert verdict.outcome == "pass" and "baselines" in verdict.baseline.results_path


def test_hand_edited_verdict_is_refused(perfect_pair, tmp_path):
    base, cand = perfect_pair
    verdict = compare_results(cand, base, latency=False)
    path = tmp_path / "v.json"
    raw = verdict.model_dump(mode="json")
    raw["outcome"] = "pass" if verdict.outcome == "fail" else "fail"
    path.write_text(json.dumps(raw))
    with pytest.raises(InputError, match="field 'outcome'"):
        load_verdict(path)
    raw["format"] = 99
    path.write_text(json.dumps(raw))
    with pytest.raises(InputError, match="field 'format'"):
        load_verdict(path)
