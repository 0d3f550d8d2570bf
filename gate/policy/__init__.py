"""Policy as code: rules that turn metric comparisons into pass / warn / fail outcomes.

Owns: the policy schema and its loader, the gate metrics and their directions, and `apply_policy` with its
`MetricComparison` and `RuleOutcome` types (which the verdict in `gate.results` carries).
"""

from gate.policy.metrics import GATE_METRICS, GateMetric
from gate.policy.schema import Check, Policy, Rule, Scope, load_policy, default_policy_path
from gate.policy.evaluate import MetricComparison, RuleOutcome, apply_policy

__all__ = [
    "GATE_METRICS",
    "GateMetric",
    "Check",
    "Policy",
    "Rule",
    "Scope",
    "load_policy",
    "default_policy_path",
    "MetricComparison",
    "RuleOutcome",
    "apply_policy",
]
