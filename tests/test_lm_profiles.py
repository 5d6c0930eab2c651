"""The real-model profiles of notebook 05 (laptop, colab): their code path through ``from_pretrained``, their
sizes, the time model behind their sizing and the estimates that README and notebook state."""

from __future__ import annotations

import dataclasses
import inspect
import math
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from conftest import documentation
from collapse_utils import budget, cli, devices, lm, lm_figures as lmf, lm_model, profiles
from collapse_utils.profiles import PROFILES, load_settings, settings_table
from collapse_utils.run import start_run

NOTEBOOK = "05_lm_wikitext2"
ROOT = Path(__file__).resolve().parents[1]
REAL = ("laptop", "colab")
pytestmark = pytest.mark.usefixtures("offline_one_thread")


def tiny(folder, profile: str) -> dict:
    """Overrides of only the model and the sizes a tiny CPU test needs: the tiny saved OPT, the offline
    tokenized WikiText-2 (the raw training split needs the internet), 16-token blocks, 24 fine-tuning blocks
    and one thread (colab: fewer validation and test blocks too). Policies, epochs, generations, runs, lr,
    batch and beams stay the profile's."""
    overrides = {"model_name": str(folder), "data_variant": "tokens", "text_limit": 40_000, "block_size": 16,
                 "new_tokens": 16, "n_train_blocks": 24, "n_threads": 1}
    if profile == "colab":
        overrides.update(n_valid_blocks=8, n_test_blocks=16)
    return overrides


@pytest.mark.slow
@pytest.mark.parametrize("profile", REAL)
def test_real_profile_runs_its_chains_through_from_pretrained(tiny_folder, monkeypatch, profile):
    calls, original = [], lm_model.train

    def recorded(*args, **kwargs):
        bound = inspect.signature(original).bind(*args, **kwargs).arguments
        calls.append((len(bound["ids"]), len(bound["valid"]), bound["epochs"], bound["lr"], bound["batch_size"]))
        return original(*args, **kwargs)

    loads = []
    load = lm_model.load_model
    monkeypatch.setattr(lm_model, "train", recorded)
    monkeypatch.setattr(lm_model, "load_model", lambda name, device: loads.append(str(name)) or load(name, device))
    overrides = tiny(tiny_folder, profile)
    run = start_run(NOTEBOOK, profile, overrides)
    declared, want = PROFILES[NOTEBOOK][profile], {**PROFILES[NOTEBOOK][profile], **overrides}
    results = lm.run_all(run, progress=False)

    assert str(tiny_folder) in loads  # every generation fine-tunes the saved model, loaded by from_pretrained
    n = want["n_train_blocks"]
    expected = {lm.setting_label(policy, epochs): epochs for policy, epochs, *_ in run.settings.settings_list()}
    assert len(expected) == len(declared["policies"]) == 2
    # one fine-tuning per model: n blocks every generation (keep-real mixes real and generated blocks to n),
    # the profile's validation blocks, epochs, lr and batch
    assert sorted(calls) == sorted((n, want["n_valid_blocks"], epochs, declared["lr"], declared["batch_size"])
                                   for epochs in expected.values() for _ in range(declared["n_generations"] + 1))
    tests = lmf.test_perplexity_frame(results)
    models = tests[tests["setting"] != "pretrained"].groupby("setting")
    assert {name: sorted(group["generation"]) for name, group in models} == {
        name: list(range(declared["n_generations"] + 1)) for name in expected}
    assert set(tests["run"]) == set(range(declared["n_runs"])) == {0}
    kept = round(0.1 * n)
    sequences = lmf.sequence_frame(results, range(declared["n_generations"] + 1)).groupby(["setting", "generation"])
    assert sequences.ngroups == 2 * (declared["n_generations"] + 1)
    for (setting, generation), group in sequences:  # each generation's new blocks, scored under model 0
        fresh = n - kept if setting.startswith("keep") and generation > 0 else n
        assert len(group) == fresh, (setting, generation)
    assert results.forgetting.groupby(["setting", "generation"]).size().eq(want["n_test_blocks"]).all()


def test_lm_seconds_adds_up_the_tokens_by_hand():
    rates = budget.LMRates(train=2.0, score=4.0, generate=8.0, basis="test")
    settings = SimpleNamespace(n_train_blocks=10, n_valid_blocks=2, n_test_blocks=3, block_size=4, new_tokens=4,
                               n_generations=1, n_runs=2, settings_list=lambda: [(lm.Replace(), 2, "beam"),
                                                                                 (lm.KeepReal(0.1), 1, "beam")])
    # zero-shot: 3 test blocks x 4 tokens / 4 = 3 s. Per generation of replace (2 epochs): training 2 x 40 / 2
    # = 40, a validation pass per epoch 2 x 8 / 4 = 4, scoring 40 generated and 20 test + validation tokens
    # / 4 = 15, the example prompt 4 / 8 = 0.5; generation 0 also writes 10 x 4 new tokens / 8 = 5.
    replace = (40 + 4 + 15 + 0.5 + 5) + (40 + 4 + 15 + 0.5)
    # keep real (1 epoch): training 20 + validation 2 + scoring 15 + example 0.5; 9 of 10 blocks generated: 4.5
    keep = (20 + 2 + 15 + 0.5 + 4.5) + (20 + 2 + 15 + 0.5)
    assert budget.lm_seconds(settings, rates) == pytest.approx(3 + 2 * (replace + keep))
    faster = rates.scaled(2.0, 4.0, "test")
    assert (faster.train, faster.score, faster.generate) == (4.0, 8.0, 32.0)


def test_the_stated_estimates_follow_from_the_rates_and_fit_the_profiles_aims():
    laptop = load_settings(NOTEBOOK, "laptop")
    four, eight = (budget.lm_seconds(laptop, budget.cpu_rates(c)) / 3600 for c in (4, 8))
    assert 1.5 <= four <= 2.5 and eight < four  # "about two hours on a 4-8-core laptop"
    assert budget.estimate_note("laptop").startswith(f"about {four:.1f} h on 4 cores, {eight:.1f} h on 8")
    colab = budget.lm_seconds(load_settings(NOTEBOOK, "colab"), budget.T4_RATES) / 3600
    assert 0.5 <= colab <= 1.0 and budget.estimate_note("colab").startswith(f"about {colab:.1f} h on a T4")
    assert "not measured" in budget.estimate_note("colab")
    with pytest.raises(ValueError, match="not 'default'"):
        budget.estimate_note("default")


def test_cpu_rates_are_the_recorded_measurement():
    text = (ROOT / "benchmarks" / "lm_throughput_cpu.txt").read_text()
    assert "--profile laptop --threads 1" in text and "123.81M parameters, vocabulary 50272" in text
    measured = {kind: float(value) for kind, value in
                re.findall(r"^(training|scoring|generation):\s+[\d.]+;\s+([\d.]+)", text, flags=re.M)}
    rates = budget.CPU_THREAD_RATES  # tokens per CPU second: the rate of a core of its own
    assert (rates.train, rates.score, rates.generate) == (measured["training"], measured["scoring"],
                                                         measured["generation"])
    laptop = load_settings(NOTEBOOK, "laptop")
    assert f"resized to {laptop.n_train_blocks} blocks" in text
    peak = int(re.search(r"maximum resident set size (\d+) kB", text).group(1)) * 1024 / 1e9
    assert f"peaked\nat {peak:.1f} GB" in documentation()
    assert budget.estimate_note("laptop").split(":")[0] in text


def test_readme_states_each_real_profile_with_its_estimate_and_command():
    readme = documentation()
    section = readme[readme.index("# Running the real OPT-125m"):]
    for profile in REAL + ("paper",):
        assert f"collapse-utils run 05_lm_wikitext2 --profile {profile}" in section
        assert budget.estimate_note(profile).split(":")[0] in section, profile
        settings = load_settings(NOTEBOOK, profile)
        row = next(line for line in section.splitlines() if line.startswith(f"| `{profile}` |"))
        assert f"{budget.lm_blocks(settings)[0]:,} " in row and f"batch {settings.batch_size}" in row, profile
        assert profile == "colab" or f"lr {settings.lr:.0e}".replace("e-0", "e-") in row
    speed = [f"{cores ** e:.2g}×" for cores in (4, 8) for e in budget.CORE_EXPONENTS]
    assert f"speed-up of {speed[0]} on 4 cores and {speed[2]} on 8 (beam search {speed[1]} and {speed[3]})" in section
    laptop, rates = load_settings(NOTEBOOK, "laptop"), budget.cpu_rates(4)
    total = budget.lm_seconds(laptop, rates)
    share = {kind: 1 - budget.lm_seconds(laptop, dataclasses.replace(rates, **{kind: math.inf})) / total
             for kind in ("train", "generate", "score")}
    assert (f"training takes {share['train']:.0%}, beam search {share['generate']:.0%} and scoring "
            f"{share['score']:.0%}").replace("%", " %") in section


@pytest.mark.parametrize("profile", REAL)
def test_every_difference_of_a_real_profile_from_the_paper_has_a_reason(profile):
    table = settings_table(NOTEBOOK, profile)
    assert not table.index[table["why"] == ""].tolist()
    stale = set(profiles.PROFILE_WHY[NOTEBOOK][profile]) - set(table.index[table["why"] != "same"])
    assert not stale
    assert profile in profiles.ABOUT and f"``{profile}``" in profiles.__doc__
    settings = load_settings(NOTEBOOK, profile)
    steps, blocks = re.search(r"(\d+) optimiser steps per epoch on the (\d+) blocks",
                              profiles.PROFILE_WHY[NOTEBOOK][profile]["batch_size"]).groups()
    assert (int(steps), int(blocks)) == (math.ceil(settings.n_train_blocks / settings.batch_size),
                                         settings.n_train_blocks)


def test_cli_shows_the_new_profiles_and_refuses_them_elsewhere(capsys):
    assert cli.main(["show", "05", "--profile", "laptop"]) == 0
    assert profiles.PROFILE_WHY[NOTEBOOK]["laptop"]["n_train_blocks"] in capsys.readouterr().out
    assert cli.main(["run", "02", "--profile", "colab"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("02_gaussian has no profile 'colab'; its profiles: smoke, default, paper")
    assert len(err.splitlines()) == 1


def test_budget_estimates_the_real_model_from_its_rates(monkeypatch):
    laptop = load_settings(NOTEBOOK, "laptop")
    monkeypatch.setattr(budget, "_gpu_available", lambda: False)
    assert budget.estimate_seconds(NOTEBOOK, laptop) == budget.lm_seconds(laptop, budget.cpu_rates(4))
    assert budget.check_budget(NOTEBOOK, laptop) is None  # hours, no warning
    warning = budget.check_budget(NOTEBOOK, load_settings(NOTEBOOK, "paper"))  # months on 16 CPU threads
    assert warning.startswith(f"warning: {NOTEBOOK} is estimated to take") and "measured on one CPU thread" in warning
    monkeypatch.setattr(budget, "_gpu_available", lambda: True)
    assert budget.estimate_seconds(NOTEBOOK, laptop) == budget.lm_seconds(laptop, budget.T4_RATES)


def test_autocast_is_fp16_on_gpus_without_bf16(monkeypatch):
    gpu = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))  # T4
    assert devices.autocast_dtype(gpu) == torch.float16
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 0))  # A100
    assert devices.autocast_dtype(gpu) == torch.bfloat16
    assert devices.autocast_dtype(torch.device("cpu")) is None
    assert not devices.grad_scaler(torch.device("cpu")).is_enabled()
