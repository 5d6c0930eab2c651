"""The generational loop shared by every experiment, and the data policies.

Generation 0 is fitted on real data. Generation n+1 is fitted on data that a *policy* builds
from samples of generation n (and possibly real data). Experiments are vectorised over
independent chains: ``fit`` and ``sample`` take and return batches whose first axis is the
chain, so a run of many chains is one loop over generations.

An experiment provides (see :class:`Experiment`):

- ``fit(data, previous, rng)`` -> model (one per chain); ``previous`` is the model of the
  generation before (``None`` for generation 0), passed explicitly so that an experiment can
  warm-start or compare with it without hidden state,
- ``sample(model, n, rng)`` -> data, free of side effects,
- ``metrics(model)`` -> ``{name: array of shape (chains,)}``,
- ``subset(data, n, rng)`` -> a random subset of ``n`` points of each chain's data,
- ``combine(parts)`` -> the union of several datasets, chain by chain.

The loop checkpoints its whole state (atomically) so that an interrupted run resumes where it
stopped; see :func:`run_generations`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np
import pandas as pd

from .cache import load_pickle, save_pickle
from .progress import progress_bar


@dataclass(frozen=True)
class Generation:
    """Handle of one trained model of a chain whose models live on disk (the VAE and the language model):
    its generation ``number`` and, where each generation has a folder of its own, that ``folder``."""

    number: int
    folder: Path | None = None


class Experiment(Protocol):
    """What the generational loop needs from an experiment (batched over chains)."""

    def fit(self, data: Any, previous: Any, rng: np.random.Generator) -> Any: ...

    def sample(self, model: Any, n: int, rng: np.random.Generator) -> Any: ...

    def metrics(self, model: Any) -> dict[str, np.ndarray]: ...

    def subset(self, data: Any, n: int, rng: np.random.Generator) -> Any: ...

    def combine(self, parts: Sequence[Any]) -> Any: ...


class Policy(Protocol):
    """What generation n+1 trains on: the data policy protocol (implement it to try your own).

    A policy is an immutable description; whatever it must remember between generations (kept
    real points, a growing pool, a counter...) is its *state*, returned by :meth:`start` and
    threaded through :meth:`training_data` by the loop. The loop pickles the state with its
    checkpoints, so every policy resumes exactly after an interrupt: keep the state picklable and
    draw all randomness from ``rng``.
    """

    name: str

    def start(self, exp: Experiment, real: Any, n: int, rng: np.random.Generator) -> Any:
        """The state before generation 1, given the real data ``real``."""
        ...

    def training_data(self, exp: Experiment, model: Any, state: Any, n: int,
                      rng: np.random.Generator) -> tuple[Any, Any]:
        """(training data of the next generation, new state), given the current ``model``."""
        ...


@dataclass(frozen=True)
class Replace:
    """Generation n+1 trains only on ``n`` fresh samples of generation n (the paper's setting)."""

    name = "replace"

    def start(self, exp: Experiment, real: Any, n: int, rng: np.random.Generator) -> Any:
        return None

    def training_data(self, exp: Experiment, model: Any, state: Any, n: int, rng: np.random.Generator) -> tuple[Any, Any]:
        return exp.sample(model, n, rng), state


@dataclass(frozen=True)
class KeepReal:
    """A random ``fraction`` of the real data stays in every generation's training set.

    The kept real points are drawn once per chain (without replacement), or, with ``redraw``, anew
    for every generation (as the authors' language-model code does); the rest of each training
    set of size ``n`` is fresh samples of the previous generation.
    """

    fraction: float
    redraw: bool = False
    name = "keep_real"

    def __post_init__(self) -> None:
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"KeepReal fraction must lie in [0, 1], got {self.fraction}")

    def n_real(self, n: int) -> int:
        """How many of ``n`` training points are real."""
        return int(round(self.fraction * n))

    def start(self, exp: Experiment, real: Any, n: int, rng: np.random.Generator) -> Any:
        if self.redraw:
            return real
        n_real = self.n_real(n)
        return exp.subset(real, n_real, rng) if n_real > 0 else None

    def training_data(self, exp: Experiment, model: Any, state: Any, n: int, rng: np.random.Generator) -> tuple[Any, Any]:
        n_real = self.n_real(n)
        if n_real == 0:
            return exp.sample(model, n, rng), state
        kept = exp.subset(state, n_real, rng) if self.redraw else state
        if n_real == n:
            return kept, state
        return exp.combine([kept, exp.sample(model, n - n_real, rng)]), state


@dataclass(frozen=True)
class Accumulate:
    """Every generation adds ``n`` fresh samples to all data seen so far, real data included
    (Gerstgrasser et al. 2024)."""

    name = "accumulate"

    def start(self, exp: Experiment, real: Any, n: int, rng: np.random.Generator) -> Any:
        return real

    def training_data(self, exp: Experiment, model: Any, state: Any, n: int, rng: np.random.Generator) -> tuple[Any, Any]:
        pool = exp.combine([state, exp.sample(model, n, rng)])
        return pool, pool


def policy_label(policy: Policy) -> str:
    """Short label for plots and frames: 'replace', 'keep_real_10%', 'accumulate', or a custom name."""
    if isinstance(policy, KeepReal):
        return f"keep_real_{policy.fraction:.0%}"
    return policy.name


def parse_policy(text: str) -> Policy:
    """Policy from its name: ``replace``, ``accumulate`` or ``keep_real:0.1``."""
    name, _, arg = text.partition(":")
    if name == "replace" and not arg:
        return Replace()
    if name == "accumulate" and not arg:
        return Accumulate()
    if name == "keep_real":
        try:
            fraction = float(arg or "0.1")
        except ValueError:
            fraction = float("nan")
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"bad keep_real fraction in {text!r}: expected a number in (0, 1], such as keep_real:0.1")
        return KeepReal(fraction)
    raise ValueError(f"unknown data policy {text!r}; use 'replace', 'accumulate' or 'keep_real:FRACTION'")


def check_positive_int(name: str, value: int, minimum: int = 1) -> int:
    """``value`` as an int, or a ValueError that names the setting and its minimum."""
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def run_generations(
    exp: Experiment,
    real: Any,
    n_generations: int,
    n_samples: int,
    policy: Policy,
    rng: np.random.Generator,
    record: Sequence[int] | None = None,
    checkpoint: Path | None = None,
    checkpoint_seconds: float = 30.0,
    progress: bool = True,
    description: str = "",
) -> pd.DataFrame:
    """Fit generation 0 on ``real``, then ``n_generations`` recursive generations.

    Returns a tidy frame with one row per (recorded generation, chain): columns ``generation``,
    ``chain``, ``policy`` and the experiment's metrics. ``record`` limits the generations kept
    (default: all). With ``checkpoint`` set, the state is saved there at most every
    ``checkpoint_seconds`` and at the end; a later call with the same arguments resumes from it.
    """
    check_positive_int("n_generations", n_generations)
    check_positive_int("n_samples", n_samples, minimum=2)
    wanted = set(range(n_generations + 1)) if record is None else {int(g) for g in record}
    state = load_pickle(checkpoint) if checkpoint is not None else None
    if state is None:
        model = exp.fit(real, None, rng)
        state = {"generation": 0, "model": model, "policy_state": policy.start(exp, real, n_samples, rng), "rows": []}
        _record(state, exp, wanted)
    else:
        rng.bit_generator.state = state["rng"]
    last_save = time.monotonic()
    bar = progress_bar(total=n_generations, initial=state["generation"], desc=description or policy_label(policy),
                       enabled=progress)
    while state["generation"] < n_generations:
        data, state["policy_state"] = policy.training_data(exp, state["model"], state["policy_state"], n_samples, rng)
        state["model"] = exp.fit(data, state["model"], rng)
        state["generation"] += 1
        _record(state, exp, wanted)
        bar.update(1)
        if checkpoint is not None and time.monotonic() - last_save > checkpoint_seconds:
            _save_state(checkpoint, state, rng)
            last_save = time.monotonic()
    bar.close()
    if checkpoint is not None:
        _save_state(checkpoint, state, rng)
    frame = pd.concat(state["rows"], ignore_index=True) if state["rows"] else pd.DataFrame()
    frame.insert(2, "policy", policy_label(policy))
    return frame


def _record(state: dict, exp: Experiment, wanted: set[int]) -> None:
    generation = state["generation"]
    if generation not in wanted:
        return
    metrics = {k: np.asarray(v) for k, v in exp.metrics(state["model"]).items()}
    n_chains = len(next(iter(metrics.values())))
    state["rows"].append(pd.DataFrame({"generation": generation, "chain": np.arange(n_chains), **metrics}))


def _save_state(path: Path, state: dict, rng: np.random.Generator) -> None:
    state["rng"] = rng.bit_generator.state
    save_pickle(path, state)
