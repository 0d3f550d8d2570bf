"""Hand tsrgate's results to the tools a team already uses: FiftyOne (failures) and MLflow (tracking, registry).

Both are optional extras (`tsrgate[fiftyone]`, `tsrgate[mlflow]`); the core install and the demo do
not need them, and a command that does says which extra to install (exit 2).
"""
