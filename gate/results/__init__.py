"""Typed stage artifacts and results folders: the files every stage writes and reads, one model each.

Owns: the run record (`run.json`, with its typed `GateConfig`), backend status and description, consistency,
latency and parity files, the verdict, the results-folder seal, and `ResultsFolder.open()` in `gate.results.opened`
(verify the seal, then load each file lazily and typed). Nothing here runs a model or computes a metric; every stage above
imports these types instead of reading another stage's JSON.
"""

from gate.results.folder import RESULTS_INDEX, ResultsIndex, load_results_index, seal_results_folder

__all__ = ["RESULTS_INDEX", "ResultsIndex", "load_results_index", "seal_results_folder"]
