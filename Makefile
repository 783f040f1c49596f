# Two entry points for a fresh machine: `make demo` and `make test`.
# Each creates its virtual environments in the repo (once, and again when pyproject.toml changes).
# `make test` runs the whole suite twice, at the same time: with the newest LiteLLM pyproject.toml allows
# (.venv) and with the oldest (.venv-oldest, pinned to pyproject's lower bound), so both ends of the range
# stay tested; each run's output is shown when both have ended. `make test-newest` is the quick path.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OLD_VENV := .venv-oldest
OLD_PY := $(OLD_VENV)/bin/python
OLD_STAMP := $(OLD_VENV)/.installed
LITELLM_OLDEST := $(shell sed -n 's/.*"litellm>=\([0-9.]*\),.*/\1/p' pyproject.toml)
# LiteLLM otherwise downloads its price table at import time, and a table of Anthropic beta headers at
# the first request that needs one.
export LITELLM_LOCAL_MODEL_COST_MAP := True
export LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS := True

.PHONY: demo test test-newest test-oldest bench setup clean system-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --upgrade --upgrade-strategy eager -e '.[test,docs]'
	touch $(STAMP)

$(OLD_STAMP): pyproject.toml
	$(PYTHON) -m venv $(OLD_VENV)
	$(OLD_PY) -m pip install -q --upgrade pip
	$(OLD_PY) -m pip install -q -e '.[test,docs]' 'litellm==$(LITELLM_OLDEST)'
	touch $(OLD_STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(PY) -m lexi.demo

test: $(STAMP) $(OLD_STAMP) system-deps
	@echo "== make test: the suite on the newest and the oldest LiteLLM allowed, in parallel (a few minutes)"
	@$(MAKE) -s test-newest > .test-newest.log 2>&1 & newest=$$!; \
	 $(MAKE) -s test-oldest > .test-oldest.log 2>&1 & oldest=$$!; \
	 wait $$newest; r1=$$?; wait $$oldest; r2=$$?; \
	 echo "== newest: $$([ $$r1 = 0 ] && echo passed || echo FAILED); oldest: $$([ $$r2 = 0 ] && echo passed || echo FAILED); their output:"; \
	 cat .test-newest.log .test-oldest.log; rm -f .test-newest.log .test-oldest.log; \
	 [ $$r1 = 0 ] && [ $$r2 = 0 ]

# Programs the suite runs for real: headless Chromium (the notebook page check in tests/test_browser.py) and
# a Redis server (tests/test_redis_limit.py starts its own on 127.0.0.1 at a free port, for the shared rate limit).
# Installed with apt-get when missing and this is a Debian machine where we are root; elsewhere install
# your system's chromium and redis packages first (`redis-server` on PATH).
system-deps:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "== installing Debian's chromium (headless browser for the notebook check)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "make test needs headless Chromium: install your system's chromium package, then run make test again."; exit 1; fi; }
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "== installing Debian's redis-server (the Redis server the shared rate-limit tests start)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else echo "make test needs a Redis server: install your system's redis package (redis-server on PATH), then run make test again."; exit 1; fi; }

test-newest: $(STAMP) system-deps
	@echo "== LiteLLM $$($(PY) -c 'import importlib.metadata as m; print(m.version("litellm"))') (newest allowed)"
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-oldest: $(OLD_STAMP) system-deps
	@echo "== LiteLLM $$($(OLD_PY) -c 'import importlib.metadata as m; print(m.version("litellm"))') (oldest allowed)"
	$(OLD_PY) -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) $(OLD_VENV) build *.egg-info
