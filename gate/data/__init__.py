"""Datasets: COCO schema, streaming loader, importers, curation checks, drive tables and the generated sign world."""
