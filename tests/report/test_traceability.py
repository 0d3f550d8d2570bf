"""Requirement traceability: requirement -> rules -> scopes -> outcome -> evidence, from a verdict and its policy."""

from __future__ import annotations

import json

import pytest

from gate.compare import compare_results
from gate.errors import InputError
from gate.policy import load_policy
from gate.report.traceability import TraceabilityMatrix, build_traceability
from gate.storage import sha256_file
from tests.absent_backend import ABSENT
from tests.gate_fixtures import write_policy

RULES = [
    # The planted regression (a class suppressed) drops AP: these fail.
    {"id": "suite-ap", "metric": "ap", "scope": {"suites": "all", "backends": ["torch"]}, "check": {"max_drop": 0.0},
     "significance": "none", "requirement": {"id": "REQ-A", "text": "Signs are found as well as before."}},
    {"id": "suite-ap50", "metric": "ap50", "scope": {"suites": ["shapes-clean"], "backends": ["torch"]},
     "check": {"max_drop": 0.0}, "significance": "none",
     "requirement": {"id": "REQ-A", "text": "Signs are found as well as before."}},
    # A floor nobody can miss: passes.
    {"id": "floor", "metric": "ap", "scope": {"suites": "all", "backends": ["torch"]}, "check": {"min_value": 0.0},
     "requirement": {"id": "REQ-B", "text": "AP is a number."}},
    # The absent test backend runs nowhere: not verified.
    {"id": "trt", "metric": "backend_ap_delta", "scope": {"suites": "all", "backends": [ABSENT]},
     "check": {"max_value": 0.03}, "requirement": {"id": "REQ-C", "text": "Every deployment form matches torch."}},
    {"id": "untraced", "metric": "ap", "scope": {"suites": "all", "backends": ["torch"]}, "check": {"min_value": 0.0}},
]


@pytest.fixture(scope="module")
def traced(report_gate, tmp_path_factory):
    root = tmp_path_factory.mktemp("trace")
    policy_path = write_policy(root / "policy.json", RULES)
    verdict = compare_results(report_gate.candidate_results, report_gate.baseline_results, policy_path=policy_path,
                              latency=False)
    verdict.save(root / "verdict.json")
    return verdict, root


def test_requirements_trace_rules_scopes_outcomes_and_evidence(traced):
    verdict, root = traced
    matrix = build_traceability(verdict, root / "verdict.json")
    by_id = {r.id: r for r in matrix.requirements}
    assert list(by_id) == ["REQ-A", "REQ-B", "REQ-C"]  # policy order
    assert by_id["REQ-A"].status == "fail" and [r.rule_id for r in by_id["REQ-A"].rules] == ["suite-ap", "suite-ap50"]
    assert by_id["REQ-B"].status == "pass"
    assert by_id["REQ-C"].status == "not_verified"
    assert by_id["REQ-C"].rules[0].counts == {"not_run": 2}
    assert [r.rule_id for r in matrix.untraced_rules] == ["untraced"]

    suite_ap = by_id["REQ-A"].rules[0]
    expected = [o for o in verdict.outcomes if o.rule_id == "suite-ap"]
    assert [s.scope for s in suite_ap.scopes] == [o.scope_label for o in expected]
    assert [s.outcome for s in suite_ap.scopes] == [o.outcome for o in expected]
    assert suite_ap.declared_scope == {"suites": "all", "backends": ["torch"]}
    manifests = {s.name: s.manifest_sha256 for s in verdict.candidate.suites}
    assert {s.name: s.manifest_sha256 for s in suite_ap.suites} == manifests
    assert [s.name for s in by_id["REQ-A"].rules[1].suites] == ["shapes-clean"]  # only the suite it judged
    # Evidence hashes: the verdict file's bytes, both models' weights, the policy.
    assert matrix.verdict.sha256 == sha256_file(root / "verdict.json")
    assert matrix.candidate.weights_sha256 == verdict.candidate.model.weights_sha256
    assert matrix.baseline.weights_sha256 == verdict.baseline.model.weights_sha256
    assert matrix.policy.sha256 == verdict.policy.sha256

    matrix.save(root / "evidence.json")
    again = TraceabilityMatrix.model_validate(json.loads((root / "evidence.json").read_text()))
    assert again == matrix
    # Deterministic: the same verdict gives the same bytes.
    build_traceability(verdict, root / "verdict.json").save(root / "evidence2.json")
    assert (root / "evidence.json").read_bytes() == (root / "evidence2.json").read_bytes()


def test_a_policy_changed_since_the_verdict_is_refused(traced, tmp_path):
    verdict, root = traced
    changed = write_policy(tmp_path / "policy.json", RULES[:1])
    moved = verdict.model_copy(update={"policy": verdict.policy.model_copy(update={"path": str(changed)})})
    with pytest.raises(InputError, match="policy changed since the verdict"):
        build_traceability(moved, root / "verdict.json")


def test_one_requirement_id_with_two_texts_is_a_policy_error(tmp_path):
    rules = [dict(RULES[2]), dict(RULES[2], id="floor-2", requirement={"id": "REQ-B", "text": "something else"})]
    with pytest.raises(InputError, match="requirement 'REQ-B' has different texts in rules 'floor' and 'floor-2'"):
        load_policy(write_policy(tmp_path / "p.json", rules))
    with pytest.raises(InputError, match="requirement"):
        load_policy(write_policy(tmp_path / "q.json", [dict(RULES[2], requirement={"id": "REQ-B"})]))


def test_release_policy_rules_all_name_a_requirement():
    from gate.signoff import release_policy_path

    policy, _ = load_policy(release_policy_path())
    assert all(rule.requirement is not None for rule in policy.rules)
    assert len({rule.requirement.id for rule in policy.rules}) >= 5
