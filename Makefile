# Every target builds .venv from nothing when it is missing, then installs ccm into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: test soak demo bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The reliability suite with long trial counts: kills, fuzz cases and concurrent rounds.
soak: $(STAMP)
	CCM_SOAK=1 $(BIN)/python -m pytest -q tests/reliability

demo: $(STAMP)
	bash examples/demo.sh

bench: $(STAMP)
	$(BIN)/python tests/benchmarks

clean:
	rm -rf $(VENV) .demo .bench
