# make figures | make test | make report | make lab | make notebook NB=03 PROFILE=smoke | make lock | make clean
#
# The first target run creates .venv and installs the exact versions of requirements.lock (with
# hashes), then the package itself; pyproject.toml keeps the loose pins. PYTHON picks the interpreter.
PROFILE ?= default
NB ?= 01
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCK := requirements.lock
EXTRAS := lm,lab,report,dev
# Offline data folders searched in order (collapse_utils.data): the repository's own, then the copy beside it.
DATA_DIRS ?= $(CURDIR)/data/cache:$(abspath $(CURDIR)/../shared/data)
export COLLAPSE_DATA_DIR ?= $(DATA_DIRS)

.PHONY: figures test lab notebook report benchmarks clean-notebooks lock clean

$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Default profile: refreshes the committed notebooks/ and figures/; other profiles write runs/.
figures: $(STAMP)
	$(PY) -m collapse_utils figures --profile $(PROFILE)

# One notebook into runs/<notebook>/<profile>/ (never over the committed notebooks).
notebook: $(STAMP)
	$(PY) -m collapse_utils run $(NB) --profile $(PROFILE)

test: $(STAMP)
	$(PY) -m pytest

report: $(STAMP)
	$(PY) -m collapse_utils report

clean-notebooks: $(STAMP)
	$(PY) -m collapse_utils clean-notebooks

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks

benchmarks: $(STAMP)
	for script in benchmarks/*.py; do $(PY) $$script; done

# Re-resolve requirements.lock from pyproject.toml (needs the network).
lock:
	$(PY) -m pip install --quiet pip-tools
	$(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
	    --extra $(subst $(comma), --extra ,$(EXTRAS)) --output-file $(LOCK) pyproject.toml

clean:
	rm -rf results runs build .pytest_cache

comma := ,
