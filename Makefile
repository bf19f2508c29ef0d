# make demo | test | bench | clean
# Each target makes .venv when it is missing and installs what it needs once;
# a stamp file in .venv records the install, redone when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: demo test bench clean

demo: $(VENV)/.installed
	$(VENV)/bin/microattn gradcheck

test: $(VENV)/.installed-test
	$(PY) -m pytest

bench: $(VENV)/.installed-test
	$(PY) benchmarks/bench_ops.py
	$(PY) benchmarks/bench_train.py

$(PY):
	$(PYTHON) -m venv $(VENV)

# The package alone (numpy, graphviz, matplotlib, tqdm).
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -e .
	touch $@

# The package with its test extra (pytest, hypothesis, torch as the oracle).
$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install -e '.[test]'
	touch $@ $(VENV)/.installed

# Build outputs and caches; the virtualenv stays (rm -rf .venv to start afresh).
clean:
	rm -rf build dist *.egg-info .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
