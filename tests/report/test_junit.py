"""JUnit XML: the common schema shape, and counts equal to the verdict's."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter

from gate.report.junit import render_junit

TESTSUITE_ATTRIBUTES = {"name", "tests", "failures", "errors", "skipped", "time", "timestamp", "hostname", "id", "package"}


def test_shape_follows_the_junit_schema(verdict):
    root = ET.fromstring(render_junit(verdict).encode("utf-8"))
    assert root.tag == "testsuites"
    suites = list(root)
    assert suites and all(s.tag == "testsuite" for s in suites)
    for suite in suites:
        assert set(suite.attrib) <= TESTSUITE_ATTRIBUTES
        assert {"name", "tests"} <= set(suite.attrib)
        children = list(suite)
        assert children[0].tag == "properties"  # properties come before the test cases
        assert all(child.tag == "testcase" for child in children[1:])
        for case in children[1:]:
            assert set(case.attrib) == {"classname", "name", "time"}
            assert all(grand.tag in ("failure", "skipped", "system-out") for grand in case)
            assert len(case) <= 1


def test_counts_match_the_verdict(verdict):
    root = ET.fromstring(render_junit(verdict).encode("utf-8"))
    counts = verdict.counts
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == len(verdict.outcomes) == int(root.get("tests"))
    assert len(root.findall("./testsuite/testcase/failure")) == counts["fail"] == int(root.get("failures"))
    assert len(root.findall("./testsuite/testcase/skipped")) == counts["insufficient_support"] + counts["not_run"]
    assert int(root.get("skipped")) == counts["insufficient_support"] + counts["not_run"]
    warnings = [c for c in cases if (c.findtext("system-out") or "").startswith("WARNING")]
    assert len(warnings) == counts["warn"]
    for suite in root.findall("testsuite"):
        inner = suite.findall("testcase")
        assert int(suite.get("tests")) == len(inner)
        assert int(suite.get("failures")) == len(suite.findall("testcase/failure"))
        assert int(suite.get("skipped")) == len(suite.findall("testcase/skipped"))
        assert {c.get("classname") for c in inner} == {suite.get("name").removeprefix("tsrgate.")}
    assert Counter(c.get("classname") for c in cases) == Counter(o.rule_id for o in verdict.outcomes)


def test_failure_carries_the_reason_and_figures(verdict):
    root = ET.fromstring(render_junit(verdict).encode("utf-8"))
    failing = verdict.failing()[0]
    failures = [f for f in root.iter("failure") if f.get("message") == failing.reason]
    assert failures
    assert "CI" in failures[0].text and "delta" in failures[0].text


def test_control_characters_in_names_still_give_valid_xml(verdict):
    outcomes = [o.model_copy(update={"class_name": "bad\x01name<&>", "reason": "r\x0bx"}) for o in verdict.outcomes]
    root = ET.fromstring(render_junit(verdict.model_copy(update={"outcomes": outcomes})).encode("utf-8"))
    assert any("<&>" in (c.get("name") or "") for c in root.iter("testcase"))
