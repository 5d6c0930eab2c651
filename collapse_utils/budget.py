"""Rough cost of a run before it starts: refuse settings that cannot finish, warn about long ones.

The compute estimate scales the default profile's measured wall time (2 CPU cores) by how much the
settings that multiply the work grew (chains, generations, runs, epochs, sample sizes...); for the real
OPT-125m of notebook 05 it adds up the tokens trained, scored and generated at measured (CPU) or
assumed (GPU) rates (:func:`lm_seconds`, :func:`estimate_note`). The memory
estimate counts the largest arrays a run holds at once. Both are order-of-magnitude guides:

- more than :data:`WARN_SECONDS` (a day): a one-line warning, the run goes ahead;
- more than :data:`REFUSE_SECONDS` (a year), or more memory than the machine has: refused with one
  line, before a kernel starts and before anything is written.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from .profiles import as_dict, load_settings

WARN_SECONDS = 24 * 3600.0
REFUSE_SECONDS = 365 * 24 * 3600.0

#: Wall time of each notebook on the default profile, 2 CPU cores (papermill's duration of the committed
#: executions, rounded up; 05: computing its chains from an empty cache, benchmarks/lm_default_run.txt, in all).
DEFAULT_SECONDS = {"01_discrete_markov": 15, "02_gaussian": 25, "03_gmm": 660, "04_vae_mnist": 1332,
                   "05_lm_wikitext2": 7530, "06_beyond": 11}
#: Where runs of a notebook scale from another profile than the default: (profile, its seconds on 2 cores).
#: Notebook 05's default runs a real model (priced by :func:`lm_seconds`); its scratch-model runs scale from
#: the quick profile's measured time (benchmarks/run_times.csv).
QUICK_SECONDS = 500  # benchmarks/run_times.csv: 500.1 s from an empty cache (other jobs shared the cores)
BASE_RUN = {"05_lm_wikitext2": ("quick", QUICK_SECONDS)}

#: Settings the work grows with, per notebook: a number scales by its ratio to the default, a list
#: by the ratio of its sums (sample sizes) or lengths (everything else).
WORK_SETTINGS = {
    "01_discrete_markov": ["n_runs", "sample_sizes", "n_categories", "tail_generations", "tail_runs",
                           "p_grid_m"],
    "02_gaussian": ["n_generations", "n_runs", "sample_sizes:len", "policies", "estimators"],
    "03_gmm": ["n_generations", "n_runs", "sample_sizes", "policies", "n_real"],
    "04_vae_mnist": ["n_generations", "n_runs", "policies", "epochs", "images_per_epoch", "n_eval"],
    "05_lm_wikitext2": ["n_generations", "n_runs", "policies", "epochs", "n_train_blocks", "n_test_blocks",
                             "d_model", "n_layers", "new_tokens", "num_beams"],
    "06_beyond": ["n_runs", "sample_sizes", "sweep_generations", "sweep_runs", "fractions"],
}

#: 8-byte values held at once, per notebook: the largest array or results frame of a run.
MEMORY_VALUES = {
    "01_discrete_markov": lambda s: s["n_runs"] * s["n_categories"] * len(s["sample_sizes"]) * 4
    + s["tail_runs"] * s["tail_generations"],
    "02_gaussian": lambda s: s["n_runs"] * len(s["sample_sizes"]) * len(s["policies"]) * len(s["estimators"])
    * 6 * (160 if s["method"] == "exact" else max(s["sample_sizes"])),
    "03_gmm": lambda s: s["n_runs"] * s["focus_sample_size"] * 2 * (s["accumulate_generations"] + 1)
    + s["n_runs"] * max(s["sample_sizes"]) * 2 * 4 + s["n_runs"] * s["n_generations"] * len(s["sample_sizes"]) * 8,
    "04_vae_mnist": lambda s: s["images_per_epoch"] * 784 * (s["n_generations"] + 1 if "accumulate" in s["policies"]
                                                             else 2),
    "05_lm_wikitext2": lambda s: s["n_train_blocks"] * (s["block_size"] + s["new_tokens"]) * s["num_beams"]
    * (s["n_generations"] + 1),
    "06_beyond": lambda s: (s["n_runs"] * len(s["sample_sizes"]) + s["sweep_runs"] * len(s["fractions"])) * 4
    * s["sweep_generations"],
}


def _size(value: Any, key: str) -> float:
    if isinstance(value, list):
        return float(len(value) if key.endswith(":len") or not value or not isinstance(value[0], int)
                     else sum(value))
    return float(value)


LM_NOTEBOOK = "05_lm_wikitext2"

#: Blocks of the whole raw WikiText-2 splits in 64-token blocks of the OPT tokenizer (the paper
#: profile's sets, ``n_*_blocks = 0``): training as counted; validation and test approximated from
#: their sizes in characters (1.1 and 1.3 MB against the training split's 10.9 MB).
FULL_BLOCKS = (36_718, 3_800, 4_400)


@dataclass(frozen=True)
class LMRates:
    """Throughput of an OPT of a given size on one machine, in tokens per second."""

    train: float  # training tokens (forward, backward, AdamW step)
    score: float  # scored tokens (forward only: validation, test and per-sequence perplexity)
    generate: float  # new tokens of 5-beam search
    basis: str  # where the numbers come from (measured, scaled, assumed)

    def scaled(self, compute: float, beam_search: float, basis: str) -> "LMRates":
        """These rates sped up ``compute``-fold (training, scoring) and ``beam_search``-fold (generation)."""
        return LMRates(self.train * compute, self.score * compute, self.generate * beam_search, basis)


def lm_blocks(settings: Any) -> tuple[int, int, int]:
    """Fine-tuning, validation and test blocks of LM ``settings`` (0 stands for the whole split)."""
    sizes = (settings.n_train_blocks, settings.n_valid_blocks, settings.n_test_blocks)
    return tuple(n or full for n, full in zip(sizes, FULL_BLOCKS))


def lm_seconds(settings: Any, rates: LMRates) -> float:
    """Wall seconds of every chain of LM ``settings`` at ``rates``: fine-tuning (with a validation pass per
    epoch), scoring (the generated data under model 0, the test and validation blocks) and beam search;
    the example prompt; the zero-shot score once. Downloading, tokenising and loading models are left out."""
    n, valid, test = lm_blocks(settings)
    block, new = settings.block_size, settings.new_tokens
    chains = 0.0
    for policy, epochs, _ in settings.settings_list():  # every chain priced as beam search
        for g in range(settings.n_generations + 1):
            pool = n * (g + 1) if policy.name == "accumulate" else n
            chains += epochs * (pool * block / rates.train + valid * block / rates.score)
            chains += (n * (block if g == 0 else new) + (test + valid) * block) / rates.score
            chains += new / rates.generate  # the example prompt
            if g < settings.n_generations:
                kept = policy.n_real(n) if policy.name == "keep_real" else 0
                chains += (n - kept) * new / rates.generate
    return test * block / rates.score + settings.n_runs * chains


#: OPT-125m (random initialisation) measured on ONE thread of this project's machine (a Xeon with AVX-512,
#: 2 cores shared with other jobs) by ``benchmarks/lm_throughput.py``: the command and its output are in
#: ``benchmarks/lm_throughput_cpu.txt`` (a test keeps these numbers equal to it).
CPU_THREAD_RATES = LMRates(train=110.6, score=469.9, generate=17.9,
                           basis="OPT-125m rates measured on one CPU thread here")
#: ASSUMED speed-up of ``c`` CPU cores over that one thread: ``c ** 0.66`` for training and scoring (large
#: matrix products; 2.5x on 4 cores, 3.9x on 8) and ``c ** 0.5`` for beam search (small per-step products and
#: Python overhead; 2x on 4 cores, 2.8x on 8).
CORE_EXPONENTS = (0.66, 0.5)
#: A free Colab T4 with fp16 autocast: ASSUMED rates, not measured. Training: OPT-125m costs about
#: 6 x 125M = 0.75 GFLOP per token; at 12 % of the T4's 65 TFLOPS fp16 tensor-core peak (eager PyTorch, a
#: small model) that is 10,000 tokens/s; scoring (forward only) a third of the work per token; 5-beam search
#: bound by ``generate``'s per-step cost (about 50 ms per step for 128 prompts x 5 beams: 2,500 new tokens/s).
T4_RATES = LMRates(train=10_000, score=30_000, generate=2_500, basis="OPT-125m rates assumed for a T4 GPU")


def cpu_rates(cores: int) -> LMRates:
    """OPT-125m rates on ``cores`` CPU cores: the one-thread measurement scaled by :data:`CORE_EXPONENTS`."""
    compute, beam = (cores ** e for e in CORE_EXPONENTS)
    return CPU_THREAD_RATES.scaled(compute, beam, f"OPT-125m rates measured on one CPU thread here, scaled to "
                                                  f"{cores} cores")


def _gpu_available() -> bool:
    import torch

    return torch.cuda.is_available()


def estimate(notebook: str, settings: Any) -> tuple[float, str]:
    """Rough wall time of a run and its basis: for the real OPT-125m of notebook 05, from its rates on this
    machine (:func:`lm_seconds`; a GPU counts as a T4); for everything else on 2 CPU cores, scaled from the
    default profile's measured time by the settings that multiply the work."""
    if notebook == LM_NOTEBOOK and settings.model_name != "scratch":
        rates = T4_RATES if _gpu_available() else cpu_rates(settings.n_threads)
        return lm_seconds(settings, rates), f"({rates.basis})"
    profile, seconds = BASE_RUN.get(notebook, ("default", DEFAULT_SECONDS[notebook]))
    values, default = as_dict(settings), as_dict(load_settings(notebook, profile))
    ratio = 1.0
    for entry in WORK_SETTINGS[notebook]:
        key = entry.partition(":")[0]
        here, there = _size(values[key], entry), _size(default[key], entry)
        if here > 0 and there > 0:
            ratio *= here / there
    return seconds * ratio, "on 2 CPU cores"


def estimate_seconds(notebook: str, settings: Any) -> float:
    """Rough wall time of a run (see :func:`estimate`)."""
    return estimate(notebook, settings)[0]


def hours(value: float) -> str:
    """Hours as the estimates state them: one decimal below 10, whole hours above."""
    return f"{value:.1f}" if value < 10 else f"{value:,.0f}"


def estimate_note(profile: str) -> str:
    """The estimated time of notebook 05's real-model ``profile`` (laptop, colab, paper), as README and
    notebook state it."""
    settings = load_settings(LM_NOTEBOOK, profile)
    if profile == "laptop":
        four, eight = (lm_seconds(settings, cpu_rates(cores)) / 3600 for cores in (4, 8))
        t = CPU_THREAD_RATES
        return (f"about {hours(four)} h on 4 cores, {hours(eight)} h on 8: an estimate from the rates of OPT-125m "
                f"measured on one CPU thread here ({t.train:.0f} training, {t.score:.0f} scoring and "
                f"{t.generate:.0f} beam-search tokens/s), scaled by an assumed cores^{CORE_EXPONENTS[0]} "
                f"(beam search cores^{CORE_EXPONENTS[1]})")
    if profile in ("colab", "paper"):
        t = T4_RATES
        return (f"about {hours(lm_seconds(settings, t) / 3600)} h on a T4: an estimate from assumed rates "
                f"({t.train:.0f} training, {t.score:.0f} scoring and {t.generate:.0f} beam-search tokens/s), "
                f"not measured")
    raise ValueError(f"estimate_note covers the real-model profiles laptop, colab and paper, not {profile!r}")


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
    (seconds, basis), needed, available = estimate(notebook, settings), estimate_bytes(notebook, settings), \
        machine_memory()
    if seconds > REFUSE_SECONDS:
        raise ValueError(f"{notebook}: these settings need about {_duration(seconds)} of compute {basis}; "
                         f"refusing runs estimated above {_duration(REFUSE_SECONDS)}")
    if needed > available:
        raise ValueError(f"{notebook}: these settings need about {needed / 2**30:.3g} GiB of memory; "
                         f"this machine has {available / 2**30:.3g} GiB")
    if seconds > WARN_SECONDS:
        return f"warning: {notebook} is estimated to take {_duration(seconds)} {basis} (a GPU helps)"
    return None
