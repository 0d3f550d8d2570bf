"""Candidate models: cards, RT-DETR built from configs, recipes, training and ingest."""
