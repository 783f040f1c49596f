# Two entry points for a fresh machine: `make demo` and `make test`.
# Each creates .venv in the repo (once, and again when pyproject.toml changes) and installs lexi into it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# LiteLLM otherwise downloads its price table at import time, and a table of Anthropic beta headers at
# the first request that needs one.
export LITELLM_LOCAL_MODEL_COST_MAP := True
export LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS := True

.PHONY: demo test bench setup clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,docs]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(PY) -m lexi.demo

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info
