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

# expect CODE CMD...: run CMD, fail unless it exits with CODE (10 = violation found)
EXPECT = sh -c 'want=$$1; shift; "$$@"; got=$$?; [ $$got -eq $$want ] || { echo "expected exit $$want, got $$got: $$*" >&2; exit 1; }' expect

demo: $(STAMP)
	@mkdir -p out
	@echo "== Raft's election holds under a crash, restarts and a partition (exit 0) =="
	@$(EXPECT) 0 $(BIN)/elect check spec/raft.elect
	@echo
	@echo "== Raft with voted_for kept in memory only: split brain after a restart (exit 10) =="
	@$(EXPECT) 10 $(BIN)/elect check spec/raft.elect --model volatile_vote --html out/raft-split-brain.html
	@for m in "bully.elect --model partition" "zookeeper.elect --model no_fencing"; do \
	  if [ -f spec/$${m%% *} ]; then echo; echo "== $$m (exit 10) =="; \
	    $(EXPECT) 10 $(BIN)/elect check spec/$$m || exit 1; fi; done
	@echo
	@echo "HTML report of the Raft split brain: out/raft-split-brain.html"

test: $(STAMP)
	@bash .ci/install-packages
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info
