"""Results folders: what `tsrgate run` writes and `compare` / `baseline promote` read, hash-locked."""

from gate.results.folder import RESULTS_INDEX, ResultsIndex, load_results_index, seal_results_folder

__all__ = ["RESULTS_INDEX", "ResultsIndex", "load_results_index", "seal_results_folder"]
