# Two commands do all set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test install benchmark clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# The CPU build of torch where this machine has it on disk; elsewhere the dependency below resolves it.
	$(BIN)/python -m pip install -q torch==2.13.0 || echo "torch==2.13.0 not available here; installing torch from the index"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python pipelines/discover.py data/double_pendulum.csv --out results/demo --force
	@echo "Results written to results/demo (report.md, lagrangian.json, figures)"

test: $(STAMP)
	$(BIN)/python -m pytest tests

benchmark: $(STAMP)
	$(BIN)/python pipelines/benchmark.py --out results/benchmark --force

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
