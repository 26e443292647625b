# Each target installs what it needs by itself into a virtual environment, then runs.
PYTHON ?= python3
VENV := .venv
SPACE_VENV := .venv-space
PY := $(VENV)/bin/python
SPACE_PY := $(SPACE_VENV)/bin/python
# A second Gradio release of the same major version: the Space uses Gradio's public API only, so it must pass on
# both (make test-gradio-alt, which CI runs). Move it when Gradio releases; it never replaces the pin.
GRADIO_ALT ?= 6.30.0
ALT_VENV := .venv-gradio-alt
ALT_PY := $(ALT_VENV)/bin/python

.PHONY: install test test-tf-free test-full test-fast test-gradio-alt demo demo-cli browser postgres nginx web lint bench clean

# All dependencies (training, export, serving, Space, tests); reinstalled when a requirements file changes.
$(VENV)/.installed: requirements.txt space/requirements.txt tests/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Everything into .venv and nothing else: the newcomer's first step (make test does it too).
install: $(VENV)/.installed

# The Space's dependencies only: proves the demo needs no TensorFlow.
$(SPACE_VENV)/.installed: space/requirements.txt
	$(PYTHON) -m venv $(SPACE_VENV)
	$(SPACE_PY) -m pip install --quiet --upgrade pip
	$(SPACE_PY) -m pip install --quiet -r space/requirements.txt
	touch $@

# The same environment plus the test tools: the serving and Space tests run here, where TensorFlow is absent.
$(SPACE_VENV)/.tests-installed: $(SPACE_VENV)/.installed tests/requirements.txt
	$(SPACE_PY) -m pip install --quiet -r tests/requirements.txt
	touch $@

# The Space's environment with Gradio $(GRADIO_ALT) instead of the pinned release (and the gradio_client it asks for).
$(ALT_VENV)/.installed-$(GRADIO_ALT): space/requirements.txt tests/requirements.txt
	$(PYTHON) -m venv $(ALT_VENV)
	$(ALT_PY) -m pip install --quiet --upgrade pip
	sed 's/^gradio==.*/gradio==$(GRADIO_ALT)/; /^gradio_client==/d' space/requirements.txt > $(ALT_VENV)/requirements.txt
	$(ALT_PY) -m pip install --quiet -r $(ALT_VENV)/requirements.txt -r tests/requirements.txt
	touch $@

# Debian's Chromium for the browser test (Playwright drives it; no browser download). Needs root or sudo;
# without it the browser test is skipped with its reason.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  elif command -v sudo >/dev/null 2>&1; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not installed and no root: the browser test will be skipped"; fi; }

# Debian's PostgreSQL for the gallery tests (each test run starts its own throwaway server on 127.0.0.1).
# Needs root or sudo; without it the PostgreSQL tests are skipped with their reason.
postgres:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  elif command -v sudo >/dev/null 2>&1; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else echo "postgresql not installed and no root: the PostgreSQL gallery tests will be skipped"; fi; }

# Debian's nginx for the hosted rehearsal (tests/space/test_hosted.py starts its own on loopback). Needs root or
# sudo; without it that rehearsal is skipped with its reason.
nginx:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; \
	  elif command -v sudo >/dev/null 2>&1; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; \
	  else echo "nginx not installed and no root: the hosted rehearsal will be skipped"; fi; }

# The web page's onnxruntime-web, from npm into web/vendor/ (never a CDN). Without npm the web test is skipped.
web/vendor/.built: web/package.json web/package-lock.json web/build.mjs
	@if command -v npm >/dev/null 2>&1; then \
	  cd web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build && touch vendor/.built; \
	else echo "npm not found: the web page test will be skipped"; fi

web: web/vendor/.built

# Everything CI runs: the TensorFlow-free part in the Space's environment, the rest in the full one, and the
# Space's own tests again on a second Gradio release.
test: test-tf-free test-full test-gradio-alt

# The serving library and the Space, in an environment that has no TensorFlow at all.
TF_FREE_TESTS := tests/serving tests/space
test-tf-free: $(SPACE_VENV)/.tests-installed browser postgres nginx
	$(SPACE_PY) -m pytest -q $(TF_FREE_TESTS)

# The Space's tests on Gradio $(GRADIO_ALT): a Gradio upgrade is a version bump, not a re-read of its source.
test-gradio-alt: $(ALT_VENV)/.installed-$(GRADIO_ALT) browser nginx
	$(ALT_PY) -m pytest -q tests/space

# Training, export, evaluation, the web page and the repository checks, with TensorFlow.
test-full: $(VENV)/.installed browser web/vendor/.built
	$(PY) -m pytest -q $(addprefix --ignore=,$(TF_FREE_TESTS))

# A quick check while working: everything not marked slow, in the full environment (a few minutes).
test-fast: $(VENV)/.installed
	$(PY) -m pytest -q -m "not slow"

# The Space on the bundled default models, with the Space's dependencies only (no TensorFlow).
demo: $(SPACE_VENV)/.installed
	@echo "ganimate Space on http://127.0.0.1:7860 (Ctrl-C to stop)"
	$(SPACE_PY) space/app.py

# The command-line render of the standard request R1, without a server.
demo-cli: $(SPACE_VENV)/.installed
	$(SPACE_PY) -m serving render --bundle exported/mnist-cdcgan --seeds 1,2,3,4 --classes 3,8,0,5 \
		--path cubic --frames 24 --fps 24 --loop --size 256 --format gif --out demo.gif
	@echo "open demo.gif to see the animation"

# Style and the quoted figures: ruff's formatter and linter (pyproject.toml), then every figure the docs quote
# checked against bench/results.json and the bundles' metrics.json. CI runs it after the tests.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(PY) -m bench.figures

bench: $(VENV)/.installed
	$(PY) -m bench

clean:
	rm -rf $(VENV) $(SPACE_VENV) $(ALT_VENV) .pytest_cache .ruff_cache .gradio
