# make figures | make test | make test-fast | make report | make lab | make notebook NB=03 PROFILE=smoke | make lock | make clean
#
# The first target run creates .venv and installs the exact versions of the lock that fits this machine
# (with hashes, see docs/install.md), then the package itself; pyproject.toml keeps the loose pins.
#   Linux x86-64:       requirements/linux-cpu.lock, then torch's CPU build from PyTorch's CPU index
#                       (requirements/torch-cpu.lock); `make TORCH=pypi` takes PyPI's CUDA build instead
#   anything else:      requirements/pypi.lock (macOS arm64, Linux aarch64; Windows: docs/install.md)
# PYTHON picks the interpreter (3.11, 3.12 or 3.13).
PROFILE ?= default
NB ?= 01
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PLATFORM := $(shell uname -s)-$(shell uname -m)
TORCH ?= $(if $(filter Linux-x86_64,$(PLATFORM)),cpu,pypi)
ifeq ($(TORCH),cpu)
LOCK := requirements/linux-cpu.lock
TORCH_LOCK := requirements/torch-cpu.lock
else
LOCK := requirements/pypi.lock
TORCH_LOCK :=
endif
TORCH_INDEX := https://download.pytorch.org/whl/cpu
UV_VERSION := 0.13.9
# Offline data folders searched in order (collapse_utils.data): the repository's own, then the copy beside it.
DATA_DIRS ?= $(CURDIR)/data/cache:$(abspath $(CURDIR)/../shared/data)
export COLLAPSE_DATA_DIR ?= $(DATA_DIRS)

.PHONY: figures test test-fast lab notebook report benchmarks clean-notebooks lock check-locks clean

$(STAMP): pyproject.toml $(LOCK) $(TORCH_LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' || \
	    { echo "make: $(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'); this project needs 3.11, 3.12 or 3.13: make PYTHON=python3.12"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(if $(TORCH_LOCK),$(PY) -m pip install --quiet --require-hashes --no-deps --index-url $(TORCH_INDEX) -r $(TORCH_LOCK))
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

# The unit tests only, for the edit loop (under a minute): no notebook runs, no slow tests.
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow and not notebook"

report: $(STAMP)
	$(PY) -m collapse_utils report

clean-notebooks: $(STAMP)
	$(PY) -m collapse_utils clean-notebooks

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks

benchmarks: $(STAMP)
	for script in benchmarks/*.py; do $(PY) $$script; done

# Re-resolve the locks of requirements/ from pyproject.toml with uv (needs the network; see requirements/lock.py).
lock:
	$(PY) -m pip install --quiet uv==$(UV_VERSION)
	$(PY) requirements/lock.py --uv $(VENV)/bin/uv

# Each platform's locks resolve on PyPI (metadata only; needs PyPI, skipped without it).
check-locks: $(STAMP)
	$(PY) .ci/check-locks

clean:
	rm -rf results runs build .pytest_cache

