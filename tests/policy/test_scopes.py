"""A rule whose scope names what the compared results lack is a policy error, unless marked optional."""

from __future__ import annotations

import pytest

from gate.errors import InputError
from gate.policy import MetricComparison, Policy, default_policy_path, load_policy
from gate.policy.scopes import check_rule_scopes


def rows() -> list[MetricComparison]:
    out = []
    for suite in ("clean", "night"):
        for backend in ("torch", "tensorrt"):
            out.append(MetricComparison(metric="ap", suite=suite, backend=backend, candidate=0.5, baseline=0.5))
        out.append(MetricComparison(metric="ap50", suite=suite, backend="torch", class_name="stop", candidate=0.5))
        out += [MetricComparison(metric="ap", suite=suite, backend="torch", size=size, candidate=0.5)
                for size in ("tiny", "small", "medium", "large")]
        out.append(MetricComparison(metric="confusion", suite=suite, backend="torch",
                                    class_name="speed_limit_60->speed_limit_80", candidate=0.1))
    return out


def policy(scope: dict, metric: str = "ap", **extra) -> Policy:
    return Policy.model_validate({"name": "t", "rules": [
        {"id": "night-ap", "metric": metric, "scope": scope, "check": {"max_drop": 0.1}, **extra}]})


@pytest.mark.parametrize(("scope", "metric", "extra", "message"), [
    ({"suites": ["clean", "nigth"]}, "ap", {}, "suites names 'nigth', which matches no suite in the compared results "
                                               "(present: clean, night)"),
    ({"backends": ["onnx"]}, "ap", {}, "backends names 'onnx', which matches no backend (present: tensorrt, torch)"),
    ({"classes": ["stop", "give_way"]}, "ap50", {}, "classes names 'give_way', which matches no class"),
    ({"sizes": ["tiny", "smal"]}, "ap", {}, "sizes names 'smal', which matches no size (present: large, medium, small, tiny)"),
    ({}, "confusion", {"between": [["speed_limit_*"], ["speed_limt_*"]]}, "between names 'speed_limt_*'"),
])
def test_a_name_that_matches_nothing_is_a_policy_error(scope, metric, extra, message):
    with pytest.raises(InputError) as err:
        check_rule_scopes(policy(scope, metric, **extra), rows(), "p.yaml")
    text = str(err.value)
    assert text.startswith("p.yaml: rule 'night-ap': ") and "\n" not in text
    assert message.replace(" in the compared results", "") in text.replace(" in the compared results", "")
    assert "set `optional: true` in the rule's scope" in text


@pytest.mark.parametrize("scope", [
    {"suites": "all", "backends": "all"},
    {"suites": ["clean", "night*"], "backends": ["tensorrt"]},  # a backend that did not run is present
    {"classes": ["stop", "speed_limit_*"]},
])
def test_names_present_in_the_results_pass(scope):
    check_rule_scopes(policy(scope, "ap50" if "classes" in scope else "ap"), rows())


def test_an_optional_scope_may_name_what_is_absent():
    check_rule_scopes(policy({"suites": ["gtsdb-*"], "backends": ["int8"], "optional": True}), rows())


def test_shipped_policies_pass_on_a_comparison_with_torch_only():
    # The shipped policies serve every dataset and backend: their optional rules may match nothing.
    only_torch = [r for r in rows() if r.backend == "torch"]
    for name in ("default", "release"):
        shipped, _ = load_policy(default_policy_path(name))
        check_rule_scopes(shipped, only_torch)


def test_cli_compare_refuses_a_typo_in_a_scope(gate_env, tmp_path, run_cli):
    path = tmp_path / "typo.yaml"
    path.write_text("name: typo\nrules:\n  - id: fog-ap\n    metric: ap\n    scope: {suites: [shapes-fgo]}\n"
                    "    check: {max_drop: 0.05}\n")
    result = run_cli("compare", gate_env.results, gate_env.results, "--policy", path, "--no-latency", "--no-history")
    assert result.exit_code == 2, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(f"error: {path}: rule 'fog-ap': suites names 'shapes-fgo', which matches no suite")
    assert "internal error" not in result.output
