# make demo: set up .venv, check the shipped specs, show a real split-brain counterexample.
# make test: set up .venv (and the Debian packages the tests need), run the test suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean services

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,services,plot]'
	touch $(STAMP)

demo: $(STAMP)
	@bash bench/demo.sh

test: $(STAMP)
	@bash .ci/install-packages
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info
