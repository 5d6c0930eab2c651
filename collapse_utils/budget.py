"""Rough cost of a run before it starts: refuse settings that cannot finish, warn about long ones.

The compute estimate scales the default profile's measured wall time (2 CPU cores) by how much the
settings that multiply the work grew (chains, generations, runs, epochs, sample sizes...). The memory
estimate counts the largest arrays a run holds at once. Both are order-of-magnitude guides:

- more than :data:`WARN_SECONDS` (a day): a one-line warning, the run goes ahead;
- more than :data:`REFUSE_SECONDS` (a year), or more memory than the machine has: refused with one
  line, before a kernel starts and before anything is written.
"""

from __future__ import annotations

import math
import os
from typing import Any

from .profiles import PROFILES, as_dict

WARN_SECONDS = 24 * 3600.0
REFUSE_SECONDS = 365 * 24 * 3600.0

#: Wall time of each notebook on the default profile, 2 CPU cores (papermill's duration of the
#: committed executions, rounded up).
DEFAULT_SECONDS = {"01_discrete_markov": 15, "02_gaussian": 25, "03_gmm": 700, "04_vae_mnist": 750,
                   "05_opt125m_wikitext2": 860, "06_beyond": 11}

#: Settings the work grows with, per notebook: a number scales by its ratio to the default, a list
#: by the ratio of its sums (sample sizes) or lengths (everything else).
WORK_SETTINGS = {
    "01_discrete_markov": ["n_chains", "sample_sizes", "n_categories", "tail_generations", "tail_chains",
                           "p_grid_m"],
    "02_gaussian": ["n_generations", "n_chains", "sample_sizes:len", "policies", "estimators"],
    "03_gmm": ["n_generations", "n_chains", "sample_sizes", "policies", "n_real"],
    "04_vae_mnist": ["n_generations", "n_runs", "policies", "epochs", "images_per_epoch", "n_eval"],
    "05_opt125m_wikitext2": ["n_generations", "n_runs", "policies", "epochs", "n_train_blocks", "n_test_blocks",
                             "d_model", "n_layers", "new_tokens", "num_beams"],
    "06_beyond": ["n_chains", "sample_sizes", "sweep_generations", "sweep_chains", "fractions"],
}

#: 8-byte values held at once, per notebook: the largest array or results frame of a run.
MEMORY_VALUES = {
    "01_discrete_markov": lambda s: s["n_chains"] * s["n_categories"] * len(s["sample_sizes"]) * 4
    + s["tail_chains"] * s["tail_generations"],
    "02_gaussian": lambda s: s["n_chains"] * len(s["sample_sizes"]) * len(s["policies"]) * len(s["estimators"])
    * 6 * (160 if s["method"] == "exact" else max(s["sample_sizes"])),
    "03_gmm": lambda s: s["n_chains"] * s["focus_sample_size"] * 2 * (s["accumulate_generations"] + 1)
    + s["n_chains"] * max(s["sample_sizes"]) * 2 * 4 + s["n_chains"] * s["n_generations"] * len(s["sample_sizes"]) * 8,
    "04_vae_mnist": lambda s: s["images_per_epoch"] * 784 * (s["n_generations"] + 1 if "accumulate" in s["policies"]
                                                             else 2),
    "05_opt125m_wikitext2": lambda s: s["n_train_blocks"] * (s["block_size"] + s["new_tokens"]) * s["num_beams"]
    * (s["n_generations"] + 1),
    "06_beyond": lambda s: (s["n_chains"] * len(s["sample_sizes"]) + s["sweep_chains"] * len(s["fractions"])) * 4
    * s["sweep_generations"],
}


def _size(value: Any, key: str) -> float:
    if isinstance(value, list):
        return float(len(value) if key.endswith(":len") or not value or not isinstance(value[0], int)
                     else sum(value))
    return float(value)


def estimate_seconds(notebook: str, settings: Any) -> float:
    """Rough wall time on 2 CPU cores, scaled from the default profile's measured time."""
    values, default = as_dict(settings), PROFILES[notebook]["default"]
    ratio = 1.0
    for entry in WORK_SETTINGS[notebook]:
        key = entry.partition(":")[0]
        here, there = _size(values[key], entry), _size(default[key], entry)
        if here > 0 and there > 0:
            ratio *= here / there
    return DEFAULT_SECONDS[notebook] * ratio


def estimate_bytes(notebook: str, settings: Any) -> float:
    """Rough peak memory of the run's largest arrays."""
    return 8.0 * MEMORY_VALUES[notebook](as_dict(settings))


def machine_memory() -> float:
    """Physical memory of this machine in bytes (infinite where the OS does not say)."""
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return math.inf


def _duration(seconds: float) -> str:
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            value = seconds / size
            return f"{value:.3g} {unit if value != 1 else unit[:-1]}"
    return f"{seconds:.0f} s"


def check_budget(notebook: str, settings: Any) -> str | None:
    """ValueError if the run cannot finish (time or memory); a warning line if it takes over a day."""
    seconds, needed, available = estimate_seconds(notebook, settings), estimate_bytes(notebook, settings), \
        machine_memory()
    if seconds > REFUSE_SECONDS:
        raise ValueError(f"{notebook}: these settings need about {_duration(seconds)} of compute on 2 CPU cores; "
                         f"refusing runs estimated above {_duration(REFUSE_SECONDS)}")
    if needed > available:
        raise ValueError(f"{notebook}: these settings need about {needed / 2**30:.3g} GiB of memory; "
                         f"this machine has {available / 2**30:.3g} GiB")
    if seconds > WARN_SECONDS:
        return f"warning: {notebook} is estimated to take {_duration(seconds)} on 2 CPU cores (a GPU helps)"
    return None
