"""`tsrgate run`: a model through suites and deployment forms into a sealed results folder.

Owns: the runner (predict, evaluate, consistency, parity and latency per suite and backend), the prediction
cache, the executors (in-process or Ray), recording a run in the history and planted regressions on a run's
detections (gate.run.planted, for the sequence gate's tests and benches). What it writes is typed in
`gate.results`.
"""

from gate.results.config import GateConfig, load_gate_config
from gate.results.opened import load_run
from gate.results.record import RunEntry, RunRecord
from gate.run.runner import run_model

__all__ = ["GateConfig", "RunEntry", "RunRecord", "load_gate_config", "load_run", "run_model"]
