"""What a model is, before anything runs it: the model card and the definitions it names.

Owns: the card schema and its load/save (`card`: weights hash, classes, preprocessing and postprocessing,
operating threshold, training facts), the model's class map over a dataset (`classes`), the training
recipe schema (`recipe`) and the RT-DETR architecture built from the card's config (`rtdetr`). Backends
read cards to run a model; `gate.models` writes them when it trains or ingests one.
"""
