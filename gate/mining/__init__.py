"""Long-tail mining: find the images of a pool that the model finds hard, so they get labelled.

    from gate.mining import mine_pool, write_mining_output, build_labelled_dataset

    run = mine_pool("models/synth-baseline", "pool/", backends=["torch", "int8"])
    write_mining_output(run, "mined/")            # mined.json, sheet.html, to_label/
    run.result.top_images()                       # the top N kept scenes, each with every signal
    build_labelled_dataset("mined/", "labels.json", "hard-cases-data/")   # a suite source

Pieces: `pool` (what to mine), `scene` (image statistics), `inference` (detections with their
class-score vectors), `signals` (model signals), `rarity` (training class counts), `labelled`
(real errors via gate.eval), `ranking` (weights, near-duplicate collapse), `results` (pydantic,
JSON), `sheet` (HTML), `export` (output folder), `labelled_dataset` (mined list + labels ->
dataset). Weights and thresholds are documented in `gate.mining.settings`.
"""

from gate.mining.export import MiningOutput, write_mining_output
from gate.mining.labelled_dataset import LabelledDatasetReport, build_labelled_dataset
from gate.mining.mine import MiningRun, mine_pool
from gate.mining.results import MinedImage, MiningResult, load_mining_result
from gate.mining.settings import SIGNALS, MiningSettings, MiningWeights

__all__ = [
    "SIGNALS",
    "LabelledDatasetReport",
    "MinedImage",
    "MiningOutput",
    "MiningResult",
    "MiningRun",
    "MiningSettings",
    "MiningWeights",
    "build_labelled_dataset",
    "load_mining_result",
    "mine_pool",
    "write_mining_output",
]
