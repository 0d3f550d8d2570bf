"""JUnit XML of a verdict, so any CI system shows the gate's rules as tests.

Shape (the common JUnit schema): `testsuites` > one `testsuite` per policy rule > one `testcase` per
scope the rule judged (classname = rule id, name = scope). A failed rule scope is a `failure`;
insufficient support and not run are `skipped` with the reason; a warning is a passed test case
whose `system-out` starts with "WARNING". Counts at every level equal the verdict's.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter

from gate.results.verdict import GateVerdict
from gate.policy import RuleOutcome
from gate.report import sections
from gate.report.view import ReportView

# Characters XML 1.0 cannot carry at all (a class name could hold one); they are replaced, not dropped silently.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: object) -> str:
    return _INVALID_XML.sub("\ufffd", str(value))


def _figures(o: RuleOutcome) -> str:
    return (f"value {sections.fmt(o.value)}, baseline {sections.fmt(o.baseline)}, delta {sections.fmt_delta(o.delta)}, "
            f"CI {sections.fmt_ci(o.ci_low, o.ci_high)}, support {o.support if o.support is not None else 'n/a'}, "
            f"allowed {o.allowed or 'n/a'}")


def _testcase(parent: ET.Element, o: RuleOutcome) -> None:
    case = ET.SubElement(parent, "testcase", {"classname": _text(o.rule_id), "name": _text(f"{o.metric}: {o.scope_label}"),
                                              "time": "0"})
    if o.outcome == "fail":
        failure = ET.SubElement(case, "failure", {"message": _text(o.reason), "type": f"tsrgate.{o.severity}"})
        failure.text = _text(_figures(o))
    elif o.outcome in ("insufficient_support", "not_run"):
        ET.SubElement(case, "skipped", {"message": _text(f"{o.outcome.replace('_', ' ')}: {o.reason}")})
    else:
        out = ET.SubElement(case, "system-out")
        prefix = "WARNING: " if o.outcome == "warn" else ""
        out.text = _text(f"{prefix}{o.reason}\n{_figures(o)}")


def _counts(outcomes: list[RuleOutcome]) -> dict[str, str]:
    kinds = Counter(o.outcome for o in outcomes)
    return {"tests": str(len(outcomes)), "failures": str(kinds["fail"]), "errors": "0",
            "skipped": str(kinds["insufficient_support"] + kinds["not_run"]), "time": "0"}


def render_junit(source: GateVerdict | ReportView) -> str:
    """The verdict (or its view) as a JUnit XML document (UTF-8 text with an XML declaration)."""
    verdict = ReportView.of(source).verdict
    timestamp = verdict.created_at.split("+")[0].removesuffix("Z")  # the schema's dateTime has no zone
    hostname = str(verdict.candidate.machine.get("hostname") or "localhost")
    root = ET.Element("testsuites", {"name": _text(f"tsrgate {verdict.candidate.model.name} vs "
                                                   f"{verdict.baseline.model.name}"), **_counts(verdict.outcomes)})
    by_rule: dict[str, list[RuleOutcome]] = {}
    for o in verdict.outcomes:
        by_rule.setdefault(o.rule_id, []).append(o)
    for index, (rule_id, outcomes) in enumerate(by_rule.items()):
        suite = ET.SubElement(root, "testsuite", {"name": _text(f"tsrgate.{rule_id}"), "id": str(index),
                                                  "package": "tsrgate", "timestamp": timestamp,
                                                  "hostname": _text(hostname), **_counts(outcomes)})
        properties = ET.SubElement(suite, "properties")
        for name, value in (("verdict", verdict.outcome), ("policy", verdict.policy.name),
                            ("policy_sha256", verdict.policy.sha256),
                            ("candidate_weights_sha256", verdict.candidate.model.weights_sha256),
                            ("baseline_weights_sha256", verdict.baseline.model.weights_sha256)):
            ET.SubElement(properties, "property", {"name": name, "value": _text(value)})
        for o in outcomes:
            _testcase(suite, o)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
