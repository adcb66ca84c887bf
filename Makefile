# Two commands do all set-up: `make demo` and `make test`.
# Both install from requirements.lock (the exact versions the test suite passed with);
# `make lock` re-resolves the newest versions allowed by pyproject.toml and rewrites it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LOCK   := requirements.lock
TORCH  := torch==2.13.0

.PHONY: demo test install lock benchmark clean

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# The CPU build of torch where this machine has it on disk; elsewhere the lock resolves it.
	$(BIN)/python -m pip install -q $(TORCH) || echo "$(TORCH) not available here; installing torch from the index"
	$(BIN)/python -m pip install -q -c $(LOCK) -e ".[dev,bench,cluster]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python pipelines/discover.py data/double_pendulum.csv --out results/demo --force
	@echo "Results written to results/demo (report.md, lagrangian.json, figures)"

test: $(STAMP)
	$(BIN)/python -m pytest tests

# A scratch environment with the newest allowed versions; its `pip freeze` becomes the lock.
# Run `make test` afterwards: the lock is only worth committing when the suite passes on it.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install -q --upgrade pip
	.venv-lock/bin/python -m pip install -q $(TORCH) || true
	.venv-lock/bin/python -m pip install -q -U -e ".[dev,bench,cluster]"
	( echo "# Exact versions the test suite passed with; made by 'make lock' (pip freeze of a fresh venv)."; \
	  echo "# torch's local build label (+cpu) is dropped so that the pin also matches the index build."; \
	  .venv-lock/bin/python -m pip freeze --exclude-editable | sed -e 's/+cpu$$//' | grep -v '^-e ' ) > $(LOCK)
	rm -rf .venv-lock
	rm -f $(STAMP)

benchmark: $(STAMP)
	$(BIN)/python pipelines/benchmark.py --out results/benchmark --force

clean:
	rm -rf $(VENV) .venv-lock .pytest_cache .hypothesis
