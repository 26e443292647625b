# Each target installs what it needs by itself into a virtual environment, then runs.
PYTHON ?= python3
VENV := .venv
SPACE_VENV := .venv-space
PY := $(VENV)/bin/python
SPACE_PY := $(SPACE_VENV)/bin/python

.PHONY: test demo lint bench clean

# All dependencies (training, export, serving, Space, tests); reinstalled when a requirements file changes.
$(VENV)/.installed: requirements.txt space/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# The Space's dependencies only: proves the demo needs no TensorFlow.
$(SPACE_VENV)/.installed: space/requirements.txt
	$(PYTHON) -m venv $(SPACE_VENV)
	$(SPACE_PY) -m pip install --quiet --upgrade pip
	$(SPACE_PY) -m pip install --quiet -r space/requirements.txt
	touch $@

# pytest exits 5 when it collects no tests; that is not a failure of the code under test.
test: $(VENV)/.installed
	$(PY) -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; exit 0; fi; exit $$rc

demo: $(SPACE_VENV)/.installed
	$(SPACE_PY) -m serving render --bundle exported/mnist-cdcgan --seeds 1,2,3,4 --classes 3,8,0,5 \
		--path cubic --frames 24 --fps 24 --loop --size 256 --format gif --out demo.gif
	@echo "open demo.gif to see the animation"

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

bench: $(VENV)/.installed
	$(PY) -m bench

clean:
	rm -rf $(VENV) $(SPACE_VENV) .pytest_cache .ruff_cache
