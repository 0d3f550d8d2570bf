# Two commands for a newcomer: `make demo` and `make test`. Both create .venv/ on first use and
# reuse it afterwards (re-installing only when pyproject.toml changes).
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.tsrgate-installed
# The FiftyOne and MLflow integrations are optional extras: the demo does not need them, the tests do.
# Both extras go in one pip install so the resolver sees fiftyone's and mlflow's pins together.
EXTRAS_STAMP := $(VENV)/.tsrgate-extras-installed
PYTEST_ARGS ?=

.PHONY: demo test install clean-venv

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev,ray]"
	@touch $(STAMP)

$(EXTRAS_STAMP): $(STAMP)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev,ray,fiftyone,mlflow]"
	@touch $(EXTRAS_STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/tsrgate demo

test: $(EXTRAS_STAMP)
	@bash .ci/install-chromium
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
