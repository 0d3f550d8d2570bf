"""Requirement traceability: requirement -> rules -> scopes -> outcome -> evidence, for a safety case.

Policy rules may name the requirement they give evidence for (`requirement: {id, text}`). This
module joins the policy with a verdict: for every requirement, the rules that verify it, every
scope each rule was judged on with its outcome, and the hashes that pin the evidence (suite
manifests, candidate and baseline weights, the verdict file). Rules that name no requirement are
listed too, so a reader sees what the policy checks without a requirement behind it.

The policy is re-read from the path the verdict records and must still hash to the verdict's
policy sha256: a traceability table built from a changed policy would trace the wrong rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from gate.errors import InputError
from gate.policy import Policy, Rule, RuleOutcome, load_policy
from gate.results.verdict import GateVerdict, PolicyProvenance
from gate.storage import atomic_write_json, sha256_file

TRACEABILITY_FORMAT = 1

# A requirement's status is its worst rule outcome. "not_verified" means nothing failed or warned
# but some scope could not be judged (a backend that did not run, too few instances, or a test too weak
# to see a regression of the allowed size: "cannot detect").
TraceStatus = Literal["fail", "warn", "not_verified", "pass"]
STATUS_LABELS = {"fail": "FAIL", "warn": "WARN", "not_verified": "not verified", "pass": "pass"}
_RANK = {"fail": 0, "warn": 1, "not_run": 2, "insufficient_support": 2, "cannot_detect": 2, "pass": 3}


class ScopeTrace(BaseModel):
    """One scope a rule was judged on."""

    scope: str  # "suite / backend / class / size", or "overall"
    outcome: str
    value: float | None = None
    baseline: float | None = None
    delta: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    reason: str


class SuiteEvidence(BaseModel):
    name: str
    version: str
    manifest_sha256: str


class RuleTrace(BaseModel):
    rule_id: str
    description: str
    metric: str
    severity: str
    declared_scope: dict  # the rule's scope as written in the policy
    status: TraceStatus
    counts: dict[str, int]  # outcome -> scopes
    scopes: list[ScopeTrace]
    suites: list[SuiteEvidence]  # the suites its judged scopes came from


class RequirementTrace(BaseModel):
    id: str
    text: str
    status: TraceStatus
    rules: list[RuleTrace]


class ModelEvidence(BaseModel):
    name: str
    version: str
    weights_sha256: str
    card_sha256: str
    results_index_sha256: str


class VerdictEvidenceRef(BaseModel):
    path: str
    sha256: str
    outcome: str
    created_at: str


class TraceabilityMatrix(BaseModel):
    """The whole trace of one verdict (what `tsrgate signoff --evidence` writes)."""

    format: int = TRACEABILITY_FORMAT
    kind: Literal["tsrgate_traceability"] = "tsrgate_traceability"
    verdict: VerdictEvidenceRef
    policy: PolicyProvenance
    candidate: ModelEvidence
    baseline: ModelEvidence
    suites: list[SuiteEvidence]
    requirements: list[RequirementTrace]
    untraced_rules: list[RuleTrace] = Field(default_factory=list)  # rules that name no requirement

    def save(self, path: str | Path) -> None:
        atomic_write_json(path, self.model_dump(mode="json"))


def _status(outcomes: list[str]) -> TraceStatus:
    worst = min(outcomes, key=lambda o: _RANK[o], default="not_run")
    return {"fail": "fail", "warn": "warn", "pass": "pass"}.get(worst, "not_verified")


def _model(side) -> ModelEvidence:
    return ModelEvidence(name=side.model.name, version=side.model.version, weights_sha256=side.model.weights_sha256,
                         card_sha256=side.model.card_sha256, results_index_sha256=side.results_index_sha256)



def _declared_scope(rule: Rule) -> dict:
    """The rule's scope as written: names per field; `optional` only when set (as text, like the rest)."""
    scope = rule.scope.model_dump(mode="json", exclude_none=True, exclude={"optional"})
    if rule.scope.optional:
        scope["optional"] = "yes"
    return scope

def _rule_trace(rule, outcomes: list[RuleOutcome], suites: dict[str, SuiteEvidence]) -> RuleTrace:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.outcome] = counts.get(o.outcome, 0) + 1
    used = sorted({o.suite for o in outcomes if o.suite in suites})
    return RuleTrace(
        rule_id=rule.id, description=rule.description, metric=rule.metric, severity=rule.severity,
        declared_scope=_declared_scope(rule),
        status=_status([o.outcome for o in outcomes]), counts=counts,
        scopes=[ScopeTrace(scope=o.scope_label, outcome=o.outcome, value=o.value, baseline=o.baseline, delta=o.delta,
                           ci_low=o.ci_low, ci_high=o.ci_high, reason=o.reason) for o in outcomes],
        suites=[suites[name] for name in used],
    )


def policy_of(verdict: GateVerdict) -> Policy:
    """The policy the verdict was judged under, refused when the file changed since."""
    path = Path(verdict.policy.path)
    policy, digest = load_policy(path)
    if digest != verdict.policy.sha256:
        raise InputError(f"policy changed since the verdict (sha256 {digest[:12]}, the verdict used "
                         f"{verdict.policy.sha256[:12]}); cannot trace its rules", path=path)
    return policy


def build_traceability(verdict: GateVerdict, verdict_path: str | Path, policy: Policy | None = None) -> TraceabilityMatrix:
    """Join the policy's requirements with the verdict's outcomes; `verdict_path` is the file whose hash is cited."""
    verdict_path = Path(verdict_path)
    policy = policy if policy is not None else policy_of(verdict)
    suites = {s.name: SuiteEvidence(name=s.name, version=s.version, manifest_sha256=s.manifest_sha256)
              for s in verdict.candidate.suites if s.name in verdict.suites}
    by_rule: dict[str, list[RuleOutcome]] = {}
    for o in verdict.outcomes:
        by_rule.setdefault(o.rule_id, []).append(o)
    requirements: dict[str, RequirementTrace] = {}
    untraced: list[RuleTrace] = []
    for rule in policy.rules:
        trace = _rule_trace(rule, by_rule.get(rule.id, []), suites)
        if rule.requirement is None:
            untraced.append(trace)
            continue
        entry = requirements.setdefault(rule.requirement.id, RequirementTrace(
            id=rule.requirement.id, text=rule.requirement.text, status="pass", rules=[]))
        entry.rules.append(trace)
    for entry in requirements.values():
        entry.status = min((r.status for r in entry.rules),
                           key=lambda s: ("fail", "warn", "not_verified", "pass").index(s))
    return TraceabilityMatrix(
        verdict=VerdictEvidenceRef(path=str(verdict_path), sha256=sha256_file(verdict_path), outcome=verdict.outcome,
                                   created_at=verdict.created_at),
        policy=verdict.policy, candidate=_model(verdict.candidate), baseline=_model(verdict.baseline),
        suites=list(suites.values()), requirements=list(requirements.values()), untraced_rules=untraced,
    )
