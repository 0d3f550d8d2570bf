"""`tsrgate compare`: a candidate's results against a baseline's, under a policy, into a verdict.

Owns: resolving a results folder or baseline line, the compatibility check (same suite bytes), the metric
comparison rows (accuracy by paired bootstrap, backend consistency, robustness, latency) and the verdict they
give under a policy, and recording a comparison in the history. The verdict's type lives in `gate.results`;
saving it, the reports and CI annotations are the workflow's (`gate.workflow`).
"""

from gate.results.verdict import GateVerdict, load_verdict
from gate.compare.compare import compare_results, resolve_results

__all__ = ["GateVerdict", "compare_results", "load_verdict", "resolve_results"]
