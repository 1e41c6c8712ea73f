# Everyday commands. `make demo` and `make test` are the README's two Quickstart commands:
# each builds .venv from scratch if needed (only Python 3.11+ required), then does its job.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# pip installs are pinned by constraints.txt (the versions the shipped model needs); changing
# either file changes the hash, so the next make reinstalls.
PIP := $(BIN)/python -m pip install -q -c constraints.txt
HASH := $(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
STAMP := $(VENV)/.installed-$(HASH)
TEST_STAMP := $(VENV)/.installed-test-$(HASH)

.PHONY: demo test install lint bench clean system-deps

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(PIP) -e .
	rm -f $(VENV)/.installed-[0-9]*; touch $(STAMP)

# Test tools; ConvoKit without its declared deps (they pull torch and spacy; its Corpus loader
# needs only what the test extra lists).
$(TEST_STAMP): $(STAMP)
	$(PIP) -e '.[test]'
	$(PIP) --no-deps 'convokit==5.0.0'
	rm -f $(VENV)/.installed-test-*; touch $(TEST_STAMP)

install: $(STAMP)

## demo: run modkit's main job on the seeds (install included)
demo: $(STAMP)
	$(BIN)/modkit threads seeds/
	$(BIN)/modkit flag seeds/ --out flagged.csv
	$(BIN)/modkit report seeds/ --flags flagged.csv --out report.html
	$(BIN)/modkit labels stats

APT := apt-get -o DPkg::Lock::Timeout=120

## system-deps: Debian packages the tests drive for real (headless Chromium, tmux); root only.
## Only when one is missing; waits up to 120 s for another apt's lock; a failure is a note, never
## a failed test run.
system-deps:
	@if ! command -v chromium >/dev/null || ! command -v tmux >/dev/null; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "note: install chromium and tmux (Debian packages) for the browser and terminal tests"; \
	  elif ! ($(APT) update -qq && $(APT) install -y -qq chromium tmux) >/dev/null; then \
	    echo "note: apt-get could not install chromium and tmux (Debian packages; another apt may hold its lock): the browser and terminal tests need them"; \
	  fi; fi

## test: install and run the whole test suite
test: $(TEST_STAMP) system-deps
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(PIP) ruff && $(BIN)/ruff check src tests bench

## bench: the side-by-side benchmarks (threads reader, flagging vs alt-profanity-check, quality)
bench: $(STAMP)
	$(PIP) -e '.[bench]'
	$(BIN)/python bench/threads_bench.py --sizes 1000,10000
	$(BIN)/python bench/flag_bench.py
	$(BIN)/python bench/quality.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info src/*.egg-info
