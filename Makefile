# make demo | test | test-slow | docs | demos | figures | bench | clean
# Each target makes .venv when it is missing and installs what it needs once;
# a stamp file in .venv records the install, redone when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: demo test test-slow docs demos figures bench clean graphviz

# Trains the reverse task into runs/demo (afresh each time), then prints the held-out
# exact match, three examples, and where the report and pictures are. Four heads of
# width 16 (the task's default is one of width 128) so that the report has heads to
# compare. Evaluated every 100 steps so that the curves show when attention learned;
# it stops at the first evaluation where every held-out string is right (train's
# --until, default 1.0), so 2000 steps is only an upper bound.
demo: $(VENV)/.installed graphviz
	rm -rf runs/demo
	$(VENV)/bin/microattn train reverse --out runs/demo --d-model 64 --ff 128 --heads 4 \
	    --steps 2000 --eval-every 100

# The fast suite (the README's test command); the long training targets are `make test-slow`.
test: $(VENV)/.installed-test graphviz
	$(PY) -m pytest -m "not slow"

# Every task trained to its accuracy target, and each demo's claims on its default run.
test-slow: $(VENV)/.installed-test graphviz
	$(PY) -m pytest -m slow

# The documentation site, offline, with warnings as errors.
docs: $(VENV)/.installed-docs
	$(VENV)/bin/mkdocs build --strict -d site

# Every demo with its defaults; pictures land in demos/out/.
demos: $(VENV)/.installed graphviz
	for d in demos/[0-9][0-9]_*.py; do $(PY) $$d || exit 1; done

# docs/img and the numbers the docs quote (docs/figures.json), from real runs with
# fixed seeds (runs/figures/); tests/docs/test_doc_numbers.py checks the docs against it.
figures: $(VENV)/.installed-test graphviz
	$(PY) docs/figures.py

bench: $(VENV)/.installed-test
	$(PY) benchmarks/bench_ops.py
	$(PY) benchmarks/bench_train.py

# Graphviz's `dot` renders the computation graphs. Installed where we can (Debian,
# as root); elsewhere one line says how, and graphs are written as .dot source.
graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq >/dev/null && apt-get install -y -qq graphviz >/dev/null; \
	  else \
	    echo "note: Graphviz's dot is not installed, so graphs are written as .dot files;" \
	         "install it with your package manager (apt install graphviz, brew install graphviz)"; \
	  fi; }

$(PY):
	$(PYTHON) -m venv $(VENV)

# The package alone.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -e .
	touch $@

# The package with the test extra (pytest, hypothesis, torch as the oracle,
# playwright for the report) and the docs extra (the docs build is tested too).
$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install -e '.[test,docs]'
	touch $@ $(VENV)/.installed $(VENV)/.installed-docs

$(VENV)/.installed-docs: pyproject.toml | $(PY)
	$(PY) -m pip install -e '.[docs]'
	touch $@ $(VENV)/.installed

# Build outputs and caches; the virtualenv stays (rm -rf .venv to start afresh).
clean:
	rm -rf build dist *.egg-info .pytest_cache .hypothesis site demos/out
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
