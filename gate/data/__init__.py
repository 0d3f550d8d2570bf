"""Datasets: COCO schema, streaming loader, importers, curation checks and the generated sign world."""
