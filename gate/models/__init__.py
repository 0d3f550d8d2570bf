"""Making candidate models: training from a recipe, ingesting outside checkpoints, evaluating them for the card.

Owns: `train` (and its augmentation, sampling and backbone pretraining), `ingest`, and `evaluate` (the
pycocotools numbers a card carries). What a model *is* (card, classes, recipe schema, architecture) lives
below, in `gate.cards`.
"""
