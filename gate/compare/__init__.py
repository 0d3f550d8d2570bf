"""`tsrgate compare`: a candidate's results against a baseline's, under a policy, into a verdict."""

from gate.results.verdict import GateVerdict, load_verdict
from gate.compare.compare import compare_results, resolve_results

__all__ = ["GateVerdict", "compare_results", "load_verdict", "resolve_results"]
