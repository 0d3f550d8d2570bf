"""`tsrgate run`: a model through suites and deployment forms into a sealed results folder.

Owns: the runner (predict, evaluate, consistency, parity and latency per suite and backend), the prediction
cache, the executors (in-process or Ray) and recording a run in the history. What it writes is typed in
`gate.results`.
"""

from gate.results.config import GateConfig, load_gate_config
from gate.results.opened import load_run
from gate.results.record import RunEntry, RunRecord
from gate.run.runner import run_model

__all__ = ["GateConfig", "RunEntry", "RunRecord", "load_gate_config", "load_run", "run_model"]
