"""A rule whose scope names something the compared results do not have is an error of the policy.

Without this check a typo (`suites: [nigth]`) or a rule about a backend that was never configured
would report "not run" and the verdict would pass: a rule that can never apply, silently. Every name
or pattern in a rule's `suites`, `backends`, `classes` and `sizes` (and both sides of a confusion
rule's `between`) must match at least one name present in the comparisons, unless the rule's scope
says `optional: true` (for shared policies that cover suites, backends or classes a given comparison
may not have). "all" always matches. A backend that was configured but could not run (tensorrt
without a GPU) is present: its rules report "not run" with the reason, as before.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path

from gate.errors import InputError
from gate.policy.schema import Policy, Rule


def _present(comparisons) -> dict[str, set[str]]:
    names: dict[str, set[str]] = {"suite": set(), "backend": set(), "class": set(), "size": set()}
    for row in comparisons:
        if row.suite:
            names["suite"].add(row.suite)
        if row.backend:
            names["backend"].add(row.backend)
        if row.size:
            names["size"].add(row.size)
        if row.class_name:
            names["class"].update(row.class_name.split("->", 1) if row.metric == "confusion" else [row.class_name])
    return names


def _selectors(rule: Rule) -> list[tuple[str, str, list[str]]]:
    """(scope key, kind of name, names) for every selector of the rule that lists names."""
    scope = rule.scope
    out = [(key, kind, value) for key, kind, value in (
        ("suites", "suite", scope.suites), ("backends", "backend", scope.backends),
        ("classes", "class", scope.classes), ("sizes", "size", scope.sizes),
    ) if isinstance(value, list)]
    if rule.between is not None:
        out += [("between", "class", list(rule.between[0])), ("between", "class", list(rule.between[1]))]
    return out


def check_rule_scopes(policy: Policy, comparisons, policy_path: str | Path | None = None) -> None:
    """Raise one InputError naming the first rule and the name in its scope that matches nothing."""
    present = _present(comparisons)
    for rule in policy.rules:
        if rule.scope.optional:
            continue
        for key, kind, names in _selectors(rule):
            for name in names:
                if any(fnmatchcase(value, name) for value in present[kind]):
                    continue
                values = sorted(present[kind])
                known = ", ".join(values[:12]) + (f", ... ({len(values)} in all)" if len(values) > 12 else "")
                raise InputError(
                    f"rule {rule.id!r}: {key} names {name!r}, which matches no {kind} in the compared results "
                    f"(present: {known or 'none'}); fix the name, or set `optional: true` in the rule's scope",
                    path=policy_path)
