# make figures | make test | make lab | make notebook NB=03 PROFILE=smoke | make clean
PROFILE ?= default
NB ?= 01
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: figures test lab notebook benchmarks clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[lm,dev,lab]"
	touch $(STAMP)

figures: $(STAMP)
	$(PY) -m collapse_utils figures --profile $(PROFILE)

notebook: $(STAMP)
	$(PY) -m collapse_utils run $(NB) --profile $(PROFILE)

test: $(STAMP)
	$(PY) -m pytest

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks

benchmarks: $(STAMP)
	for script in benchmarks/*.py; do $(PY) $$script; done

clean:
	rm -rf results .pytest_cache
