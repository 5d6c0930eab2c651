"""Language-model experiment: blocks, policies on generated data, perplexity, resume, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from scipy import stats

from conftest import documentation
from collapse_utils import data, lm, lm_data, lm_figures as lmf, lm_model
from collapse_utils.profiles import load_settings
from collapse_utils.recursion import KeepReal, Replace
from collapse_utils.run import start_run

NOTEBOOK = "05_lm_wikitext2"
pytestmark = pytest.mark.usefixtures("offline_one_thread")
CPU = torch.device("cpu")
TEXT = "".join(f"The {w} of line {i} is not the {w} of line {i + 1} .\n" for i, w in
               enumerate(["cat", "dog", "house", "river", "stone", "city"] * 20))


def tiny_overrides(folder, **extra):
    return {"model_name": str(folder), "text_limit": 40_000, "block_size": 16, "new_tokens": 8,
            "n_train_blocks": 20, "n_valid_blocks": 4, "n_test_blocks": 6, "batch_size": 4, "lr": 1e-3,
            "policies": ["replace"], "epochs": [1], "n_generations": 2, "shown_generations": [0, 2],
            "gen_batch_size": 10, "num_beams": 2, "n_threads": 1, "decodings": [], **extra}


def test_make_blocks_exact_counts():
    blocks = lm_data.make_blocks(np.arange(23), 5)
    assert blocks.shape == (4, 5) and blocks[-1, -1] == 19  # 3 leftover ids dropped
    assert lm_data.make_blocks(np.arange(4), 5).shape == (0, 5)


def test_blocks_of_a_tokenised_text(tmp_path):
    tokenizer = lm_data.load_tokenizer(_save_tokenizer(tmp_path))
    ids = lm_data.encode_text(tokenizer, TEXT)
    per_line = sum(len(tokenizer(line, add_special_tokens=False)["input_ids"]) for line in TEXT.splitlines(True))
    assert len(ids) == per_line
    blocks = lm_data.make_blocks(ids, 7)
    assert blocks.shape == (len(ids) // 7, 7)
    np.testing.assert_array_equal(blocks.ravel(), ids[:blocks.size])
    assert tokenizer.decode(ids.tolist()) == TEXT


def _save_tokenizer(folder):
    lm_data.train_tokenizer(TEXT, 120, folder)
    return folder


@pytest.fixture(scope="module")
def tiny_context(tiny_folder):
    tokenizer = lm_data.load_tokenizer(tiny_folder)
    ids = lm_data.encode_text(tokenizer, data.load_wikitext2("valid", "tokens")[:20_000])
    blocks = lm_data.make_blocks(ids, 12)
    settings = lm.LMSettings(model_name=str(tiny_folder), block_size=12, new_tokens=6, num_beams=3,
                             gen_batch_size=16, shown_generations=[0], policies=["replace"], epochs=[1])
    return lm.LMContext(settings, CPU, tokenizer, "tokens", blocks[:40], blocks[40:44], blocks[44:48],
                        blocks[0], str(tiny_folder), 0.0, progress=False)


def chain_at_model0(ctx, folder):
    """A chain whose model 0 is the tiny pre-trained model, and that model's handle."""
    lm_model.save_model(lm_model.load_model(ctx.base_model, CPU), folder / "gen_00" / "model")
    return lm.LMChain(ctx, folder, epochs=1), lm.Generation(0, folder / "gen_00")


def test_replace_makes_as_many_generated_blocks_as_the_original(tiny_context, tmp_path):
    chain, model0 = chain_at_model0(tiny_context, tmp_path)
    real = lm_data.Blocks.original(tiny_context.train)
    blocks, _ = Replace().training_data(chain, model0, None, len(real), np.random.default_rng(0))
    assert blocks.ids.shape == (len(real), tiny_context.settings.new_tokens)
    assert (blocks.writer == 0).all() and not blocks.real.any()


def test_keep_real_keeps_exactly_ten_percent_chosen_with_the_seed(tiny_context, tmp_path):
    chain, model0 = chain_at_model0(tiny_context, tmp_path)
    real = lm_data.Blocks.original(tiny_context.train[:, :6])  # real blocks as long as the continuations
    chosen = []
    for seed in (1, 1, 2):
        rng = np.random.default_rng(seed)
        state = KeepReal(0.1).start(chain, real, len(real), rng)
        blocks, _ = KeepReal(0.1).training_data(chain, model0, state, len(real), rng)
        assert len(blocks) == len(real) and blocks.real.sum() == 4 and len(blocks.written_by(0)) == 36
        kept = blocks.ids[blocks.real]
        chosen.append([int(np.flatnonzero((real.ids == row).all(axis=1))[0]) for row in kept])
    assert chosen[0] == chosen[1] and chosen[0] != chosen[2]


def test_sampling_is_seeded_and_differs_from_beam_search(tiny_folder):
    """Ancestral sampling: the same generator gives the same tokens, another one others (two 8-token
    continuations of 6 prompts from a 300-token vocabulary coincide by chance with negligible probability)."""
    model = lm_model.load_model(tiny_folder, CPU)
    prompts = [np.arange(5, 12) + i for i in range(6)]
    sample = lambda seed: lm_model.continue_prompts(model, prompts, 8, 3, 3.0, 0, 1, CPU, progress=False,
                                                    decoding="sample", rng=np.random.default_rng(seed))
    beam = lm_model.continue_prompts(model, prompts, 8, 3, 3.0, 0, 1, CPU, progress=False)
    state = torch.random.get_rng_state()
    assert np.array_equal(sample(1), sample(1)) and not np.array_equal(sample(1), sample(2))
    assert not np.array_equal(sample(1), beam)
    assert torch.equal(torch.random.get_rng_state(), state)  # torch's global generator is left as it was
    with pytest.raises(ValueError, match="decoding must be one of"):
        lm_model.continue_prompts(model, prompts, 8, 3, 3.0, 0, 1, CPU, decoding="greedy")


def test_perplexity_matches_a_hand_computation(tiny_folder):
    model = lm_model.load_model(tiny_folder, CPU).eval()
    ids = np.random.default_rng(3).integers(2, model.config.vocab_size, size=(3, 9))
    hand = []
    with torch.no_grad():
        for row in ids:
            logps = []
            for t in range(1, len(row)):  # next-token probability from each prefix on its own
                logits = model(input_ids=torch.as_tensor(row[None, :t])).logits[0, -1].double()
                logps.append(float(logits[row[t]] - torch.logsumexp(logits, 0)))
            hand.append(-np.mean(logps))
        hf_loss = float(model(input_ids=torch.as_tensor(ids), labels=torch.as_tensor(ids)).loss)
    nll = lm_model.sequence_nll(model, ids, CPU, batch_size=2)
    np.testing.assert_allclose(nll, hand, rtol=1e-5)
    assert lm_model.perplexity(model, ids, CPU) == pytest.approx(np.exp(np.mean(hand)), rel=1e-5)
    assert lm_model.perplexity(model, ids, CPU) == pytest.approx(np.exp(hf_loss), rel=1e-5)


def test_left_padding_gives_the_same_continuation(tiny_folder):
    model = lm_model.load_model(tiny_folder, CPU)
    short, long = np.arange(5, 10), np.arange(20, 32)
    alone = lm_model.continue_prompts(model, [short], 5, 3, 3.0, 0, 1, CPU, progress=False)
    padded = lm_model.continue_prompts(model, [short, long], 5, 3, 3.0, 0, 1, CPU, progress=False)
    assert padded.shape == (2, 5)
    np.testing.assert_array_equal(alone[0], padded[0])


def test_run_resumes_at_the_first_unfinished_generation(tiny_folder, monkeypatch, tmp_path):
    overrides = tiny_overrides(tiny_folder)
    reference = lm.run_all(start_run(NOTEBOOK, "smoke", overrides), progress=False)
    monkeypatch.setenv("COLLAPSE_RESULTS_DIR", str(tmp_path / "second"))
    calls, kill = [], [True]
    original = lm_model.train

    def killed_at_generation_one(*args, **kwargs):
        calls.append(kwargs.get("desc"))
        if kill[0] and len(calls) == 2:
            raise KeyboardInterrupt("simulated kill")
        return original(*args, **kwargs)

    monkeypatch.setattr(lm_model, "train", killed_at_generation_one)
    with pytest.raises(KeyboardInterrupt):
        lm.run_all(start_run(NOTEBOOK, "smoke", overrides), progress=False)
    run = start_run(NOTEBOOK, "smoke", overrides)
    chain = lm.chain_dir(run, Replace(), 1, "beam", 0)
    assert (chain / "gen_00" / "metrics.json").exists() and (chain / "gen_01" / "data.npz").exists()
    assert not (chain / "gen_01" / "metrics.json").exists()
    calls.clear()
    kill[0] = False
    resumed = lm.run_all(run, progress=False)
    assert calls == ["fine-tuning gen_01", "fine-tuning gen_02"]  # generation 0 is not redone
    np.testing.assert_allclose(resumed.metrics["test_ppl"], reference.metrics["test_ppl"], rtol=1e-6)
    assert list(resumed.metrics["generation"]) == [0, 1, 2]
    assert resumed.sequences.groupby("generation").size().tolist() == [20, 20, 20]
    assert json.loads((chain / "gen_02" / "metrics.json").read_text())["example"]
    calls.clear()
    longer = lm.run_all(start_run(NOTEBOOK, "smoke", {**overrides, "n_generations": 3}), progress=False)
    assert calls == ["fine-tuning gen_03"]  # more generations extend the cached chain
    np.testing.assert_allclose(longer.metrics["test_ppl"][:3], reference.metrics["test_ppl"], rtol=1e-6)


def test_damaged_model_folder_is_reported_and_trained_again(tiny_folder, monkeypatch, tmp_path, capfd):
    """A truncated weights file of model 0 is named in one line when a later generation needs the model,
    which is trained again from the stored data and seed: the chain ends as an undamaged one does."""
    overrides = tiny_overrides(tiny_folder)
    longer = {**overrides, "n_generations": 3}
    reference = lm.run_all(start_run(NOTEBOOK, "smoke", longer), progress=False)
    monkeypatch.setenv("COLLAPSE_RESULTS_DIR", str(tmp_path / "damaged"))
    run = start_run(NOTEBOOK, "smoke", overrides)
    lm.run_all(run, progress=False)
    weights = lm.chain_dir(run, Replace(), 1, "beam", 0) / "gen_00" / "model" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    capfd.readouterr()
    resumed = lm.run_all(start_run(NOTEBOOK, "smoke", longer), progress=False)
    report = [line for line in capfd.readouterr().err.splitlines() if line.startswith("cache:")]
    assert len(report) == 1 and "gen_00/model is damaged (model.safetensors)" in report[0], report
    pd.testing.assert_frame_equal(resumed.metrics.drop(columns=TIMING), reference.metrics.drop(columns=TIMING))


def test_unknown_model_name_is_a_clear_error():
    with pytest.raises(ValueError, match="could not load model 'no-such-org/no-such-model'.*facebook/opt-125m"):
        lm_model.load_model("no-such-org/no-such-model", CPU)


def test_unreadable_model_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="missing or unreadable"):
        lm_model.load_model(tmp_path / "absent", CPU)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match=f"could not load model '{tmp_path}'"):
        lm_model.load_model(tmp_path, CPU)


@pytest.mark.parametrize("overrides, message", [
    ({"block_size": 1}, "block_size must be an integer >= 2"),
    ({"policies": ["keep_real:1.5"], "epochs": [10], "decodings": []}, r"bad keep_real fraction in 'keep_real:1.5': expected a number in \(0, 1\]"),
    ({"policies": ["keep_real:-0.1"], "epochs": [10], "decodings": []}, r"bad keep_real fraction in 'keep_real:-0.1'"),
    ({"policies": ["keep_real:0"], "epochs": [10], "decodings": []}, r"expected a number in \(0, 1\]"),
    ({"epochs": [5]}, "policies and epochs must be non-empty lists of equal length"),
    ({"policies": ["replace"], "epochs": [5]}, r"decodings empty .* or one per policy \(override it with the policies\)"),
    ({"decodings": ["beam", "beam", "beam", "greedy"]}, r"decodings must each be one of \('beam', 'sample'\)"),
    ({"model_name": " "}, "model_name must be"),
    ({"new_tokens": 16}, r"mixes real and generated blocks, so new_tokens \(16\) must equal block_size \(32\)"),
])
def test_bad_settings_are_clear_errors(overrides, message):
    with pytest.raises(ValueError, match=message):
        start_run(NOTEBOOK, "smoke", overrides)


def test_corrupt_data_file_names_file_checksum_and_remedy(tmp_path, monkeypatch, tiny_folder):
    folder = tmp_path / "data" / "wikitext-2-v1-tokens"
    folder.mkdir(parents=True)
    (folder / "wiki.train.tokens").write_text("not wikitext")
    monkeypatch.setenv("COLLAPSE_DATA_DIR", str(tmp_path / "data"))
    run = start_run(NOTEBOOK, "smoke", tiny_overrides(tiny_folder, data_variant="tokens"))
    expected = data.MANIFEST["wikitext-2-v1-tokens/wiki.train.tokens"]
    with pytest.raises(data.DataFileError, match=f"wiki.train.tokens is corrupt.*expected {expected}.*data/README.md"):
        lm.run_all(run, progress=False)


def test_missing_data_file_names_file_checksum_and_remedy(tmp_path, monkeypatch, tiny_folder):
    import datasets

    monkeypatch.setattr(data, "data_dirs", lambda: [tmp_path])
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: (_ for _ in ()).throw(ConnectionError("offline")))
    run = start_run(NOTEBOOK, "smoke", tiny_overrides(tiny_folder, data_variant="raw"))
    expected = data.MANIFEST["wikitext-2-raw/wiki.train.raw"]
    with pytest.raises(data.DataFileError, match=f"'wikitext-2-raw/wiki.train.raw' \\(sha256 {expected}\\).*data/README.md"):
        lm.run_all(run, progress=False)


def test_ngram_statistics_by_hand():
    ids = np.array([[1, 2, 1, 2, 1], [3, 4, 5, 6, 7]])
    stats = lm_data.ngram_stats(ids, orders=(1, 2))
    assert stats["distinct_1"] == pytest.approx(7 / 10)  # {1,2,3,4,5,6,7} of 10 tokens
    assert stats["distinct_2"] == pytest.approx(6 / 8)  # (1,2),(2,1),(3,4),(4,5),(5,6),(6,7)
    assert stats["repeat_1"] == pytest.approx((3 / 5 + 0) / 2)
    assert stats["repeat_2"] == pytest.approx((2 / 4 + 0) / 2)


def test_paper_profile_runs_a_saved_model_through_from_pretrained(tiny_folder):
    overrides = tiny_overrides(tiny_folder, data_variant="tokens", new_tokens=16, n_runs=1,
                               policies=["replace", "keep_real:0.1", "accumulate"], epochs=[1, 1, 1])
    run = start_run(NOTEBOOK, "paper", overrides)
    assert not run.settings.keep_all_models
    results = lm.run_all(run, progress=False)
    assert len(results.metrics) == 9 and results.zero_shot > 1
    sizes = {}
    for policy in run.settings.settings_list():
        chain = lm.chain_dir(run, *policy, 0)
        blocks = lm_data.Blocks.from_bytes((chain / "gen_02" / "data.npz").read_bytes())
        sizes[policy[0].name] = (len(blocks), int(blocks.real.sum()))
        assert (chain / "gen_00" / "model").exists() and (chain / "gen_02" / "model").exists()
        assert not (chain / "gen_01" / "model").exists()  # intermediate checkpoints are dropped
    assert sizes == {"replace": (20, 0), "keep_real": (20, 2), "accumulate": (60, 20)}


def test_articles_and_headings_by_hand():
    text = " \n = A = \n \n a1 \n = = A.1 = = \n a2 \n = B = \n b1 \n = = = B.1.1 = = = \n"
    assert lm_data.split_articles("intro\n" + text) == [" = A = \n \n a1 \n = = A.1 = = \n a2 \n",
                                                        " = B = \n b1 \n = = = B.1.1 = = = \n"]
    assert lm_data.drop_headings(text) == " \n \n a1 \n a2 \n b1 \n"
    assert lm_data.drop_headings(" x = y = z \n") == " x = y = z \n"  # an equation inside a line is text


def test_fine_tuning_and_pre_training_use_disjoint_articles():
    articles = [np.full(n, i) for i, n in enumerate([50, 70, 30, 90, 40, 60])]  # article i holds tokens == i
    rng = np.random.default_rng(5)
    finetune, pretrain = lm.split_finetune_pretrain(articles, 8, 10, 10, rng)
    assert finetune.shape == (8, 10) and pretrain.shape == (10, 10)
    assert not set(np.unique(finetune)) & set(np.unique(pretrain))
    order = np.random.default_rng(5).permutation(6)
    assert finetune[0, 0] == order[0]  # fine-tuning starts with the first article of the seeded order
    whole, none = lm.split_finetune_pretrain(articles, 0, 0, 10, None)
    assert whole.shape == (34, 10) and none.shape == (0, 10)  # all 340 tokens in their own order
    np.testing.assert_array_equal(whole.ravel(), np.concatenate(articles))
    with pytest.raises(ValueError, match="exceeds the 34 training blocks"):
        lm.split_finetune_pretrain(articles, 8, 30, 10, rng)


class RowTokenizer:
    """A stand-in tokenizer: one id per character, ``</s>`` (id 1) first when special tokens are added."""

    def __call__(self, lines, add_special_tokens):
        return {"input_ids": [[1] * add_special_tokens + [ord(c) for c in line] for line in lines]}


def test_rows_are_tokenised_with_special_tokens_as_in_the_authors_code():
    text = "ab\n\ncd\n"
    np.testing.assert_array_equal(lm_data.encode_text(RowTokenizer(), text), [97, 98, 10, 99, 100, 10])
    np.testing.assert_array_equal(lm_data.encode_text(RowTokenizer(), text, rows=True),
                                  [1, 97, 98, 10, 1, 10, 1, 99, 100, 10])  # the blank row too


def test_loop_share_by_hand():
    loop = [5, 6, 7, 8] * 4 + [9]  # the 4-gram (5, 6, 7, 8) four times
    almost = [5, 6, 7, 8] * 3 + [1, 2, 3, 4, 9]
    assert lm_data.loop_share(np.array([loop, almost, list(range(17))])) == pytest.approx(1 / 3)


@pytest.mark.parametrize("redraw", [True, False])
def test_keep_real_draws_new_real_blocks_each_generation_or_keeps_one_subset(tiny_folder, redraw):
    overrides = tiny_overrides(tiny_folder, policies=["keep_real:0.1"], epochs=[1], new_tokens=16,
                               n_train_blocks=40, keep_real_redraw=redraw)
    run = start_run(NOTEBOOK, "smoke", overrides)
    lm.run_all(run, progress=False)
    chain = lm.chain_dir(run, KeepReal(0.1), 1, "beam", 0)
    kept = [lm_data.Blocks.from_bytes((chain / f"gen_{g:02d}" / "data.npz").read_bytes()) for g in (1, 2)]
    kept = [{tuple(row) for row in blocks.ids[blocks.real]} for blocks in kept]
    assert [len(k) for k in kept] == [4, 4]
    assert (kept[0] != kept[1]) == redraw  # 4 of 40 twice: the same subset by chance has probability 1e-5


def _tidy(ppl: dict[str, list[list[float]]], zero: float) -> pd.DataFrame:
    rows = [("pretrained", 0, 0, zero)] + [(setting, run, g, value) for setting, runs in ppl.items()
                                           for run, curve in enumerate(runs) for g, value in enumerate(curve)]
    return pd.DataFrame(rows, columns=["setting", "run", "generation", "test_perplexity"])


def test_fig1_points_by_hand():
    tests = _tidy({"replace, 5 epochs": [[10, 12, 20], [11, 13, 21], [12, 14, 22]],
                   "keep_real_10%, 10 epochs": [[10, 11, 11], [10, 11, 12], [11, 12, 12]]}, 18.0)
    sequences = pd.DataFrame({"setting": "replace, 5 epochs", "run": 0, "generation": np.repeat([0, 1, 2], 100),
                              "perplexity": np.concatenate([np.full(100, 50.0), np.full(100, 20.0),
                                                            np.r_[np.full(95, 5.0), np.full(5, 500.0)]])})
    ngrams = pd.DataFrame({"setting": "replace, 5 epochs", "run": [0, 0, 0, 1, 1, 1, 2, 2, 2],
                           "generation": [0, 1, 2] * 3, "distinct_2": [0.6, 0.31, 0.1, 0.6, 0.32, 0.1, 0.6, 0.33, 0.1],
                           "repeat_4": 0.0, "loop_share": [0.0, 0.05, 0.5, 0.0, 0.04, 0.5, 0.0, 0.06, 0.5]})
    points = lmf.fig1_points(tests, sequences, ngrams, late=(2,))
    assert points["met"].tolist() == [True, True, True, True, True, True]
    # point 1: the ratios 18/10, 18/11, 18/12 against 1.3, one-sided t with 2 degrees of freedom
    ratios = 18 / np.array([10.0, 11.0, 12.0])
    expected = stats.ttest_1samp(ratios, 1.3, alternative="greater")
    assert f"t = {expected.statistic:.1f}, 2 dof, p = {expected.pvalue:.2g}" in points.loc[1, "test"]
    assert "ratio 1.64" in points.loc[1, "measured"]
    close = lmf.fig1_points(tests.replace({"test_perplexity": {18.0: 15.0}}), sequences, ngrams, late=(2,))
    assert "ratio 1.36" in close.loc[1, "measured"] and not close.loc[1, "met"]  # t = 1.1: not significant
    one_run = lmf.fig1_points(_tidy({"replace, 5 epochs": [[10, 12, 20]]}, 12.0), sequences, ngrams)
    assert one_run["met"].tolist() == [False, False, False, True, True, False]  # ratio 1.2; gen 1 = zero-shot
    assert one_run.loc[1, "test"].startswith("one run")


def test_points_from_an_independent_computation_on_the_committed_csvs():
    """Point 1-3 recomputed from the committed CSVs with plain pandas and scipy, apart from fig1_points."""
    tests = _committed("test_perplexity")
    zero = tests.query("setting == 'pretrained'")["test_perplexity"].item()
    runs = tests[tests["setting"].str.startswith("replace") & ~tests["setting"].str.endswith("sampling")]
    curve = runs.pivot(index="run", columns="generation", values="test_perplexity")
    kept = tests[tests["setting"].str.startswith("keep_real")].pivot(index="run", columns="generation",
                                                                     values="test_perplexity")
    late = [5, 6, 7, 8, 9]
    checks = {1: [zero / curve[0] - 1.3], 2: [curve[9] - curve[1], curve[1] - curve[0], zero - curve[1]],
              3: [(curve[late].mean(axis=1) - curve[0]) - (kept[late].mean(axis=1) - kept[0])]}
    points = committed_points()
    for point, differences in checks.items():
        p_values = [stats.ttest_1samp(d.to_numpy(), 0.0, alternative="greater").pvalue for d in differences]
        assert points.loc[point, "met"] == all(p <= lmf.ALPHA for p in p_values), (point, p_values)


def test_the_paper_decoding_is_pinned():
    """The paper's decoding and blocks (5 beams, repetition penalty 3.0, 64-token blocks, 64 new tokens) in
    the default and paper profiles, and the penalty reaches ``generate`` for both decodings."""
    for profile in ("default", "paper"):
        s = load_settings(NOTEBOOK, profile)
        assert (s.num_beams, s.repetition_penalty, s.block_size, s.new_tokens) == (5, 3.0, 64, 64), profile
        assert [p.name for p, _, _ in s.settings_list()][:2] == ["replace", "keep_real"] and s.epochs[:2] == [5, 10]
    seen = []

    class Model:
        def eval(self):
            return self

        def generate(self, input_ids, **options):
            seen.append(options)
            return torch.cat([input_ids, torch.zeros((len(input_ids), 4), dtype=torch.long)], dim=1)

    for decoding in ("beam", "sample"):
        lm_model.continue_prompts(Model(), [np.arange(3)], 4, 5, 3.0, 0, 1, torch.device("cpu"), progress=False,
                                  decoding=decoding, rng=np.random.default_rng(0))
    assert [o["repetition_penalty"] for o in seen] == [3.0, 3.0] and seen[0]["num_beams"] == 5


@pytest.fixture(scope="module")
def two_settings(tiny_folder, tmp_path_factory):
    """Overrides with two settings x two runs, and their results computed in this process."""
    overrides = tiny_overrides(tiny_folder, policies=["replace", "keep_real:0.1"], epochs=[1, 1], new_tokens=16,
                               n_generations=1, shown_generations=[0, 1], n_runs=2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLLAPSE_RESULTS_DIR", str(tmp_path_factory.mktemp("one-process")))
        return overrides, lm.run_all(start_run(NOTEBOOK, "smoke", overrides), progress=False)


TIMING = ["train_seconds", "sample_seconds", "score_seconds"]


@pytest.mark.slow
def test_two_worker_processes_give_the_same_results_as_one(two_settings):
    overrides, one = two_settings
    two = lm.run_all(start_run(NOTEBOOK, "smoke", {**overrides, "workers": 2}), progress=False)
    pd.testing.assert_frame_equal(one.metrics.drop(columns=TIMING), two.metrics.drop(columns=TIMING))
    pd.testing.assert_frame_equal(one.sequences, two.sequences)


@pytest.mark.slow
def test_torchrun_processes_share_the_chains(two_settings, monkeypatch, tmp_path):
    """``torchrun --nproc_per_node 2 -m collapse_utils compute``: the two processes compute the four chains
    between them into one cache; loading it afterwards trains nothing and equals a single process's run."""
    overrides, one = two_settings
    params = [arg for key, value in overrides.items() for arg in
              ("-p", f"{key}={','.join(map(str, value)) if isinstance(value, list) else value}")]
    env = {**os.environ, "COLLAPSE_RESULTS_DIR": str(tmp_path / "shared"), "COLLAPSE_PROGRESS": "off",
           "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "collapse_utils", "compute", NOTEBOOK, "--profile", "smoke", *params],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("computed or loaded") == 2
    monkeypatch.setenv("COLLAPSE_RESULTS_DIR", str(tmp_path / "shared"))
    monkeypatch.setattr(lm_model, "train", lambda *a, **k: pytest.fail("a chain was not in the shared cache"))
    two = lm.run_all(start_run(NOTEBOOK, "smoke", overrides), progress=False)
    pd.testing.assert_frame_equal(one.metrics.drop(columns=TIMING), two.metrics.drop(columns=TIMING))
    assert lm.share(list(range(5))) == [0, 1, 2, 3, 4]
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert lm.share(list(range(5))) == [1, 3]


ROOT = Path(__file__).resolve().parents[1]
COLUMNS = {"test_perplexity": ["setting", "run", "generation", "test_perplexity"],
           "sequence_perplexity": ["setting", "run", "generation", "perplexity"],
           "ngrams": ["setting", "run", "generation", "distinct_2", "repeat_4", "loop_share"]}
#: Points of issue 17 that the committed default run (5 runs) reaches: the required 1, 2, 3 and 6 and the goal 5.
#: The goal 4 is not reached (generation 9's 99th percentile lies below generation 1's); the notebook and the
#: README report its measured values.
REACHED = [1, 2, 3, 5, 6]


def _committed(name: str) -> pd.DataFrame:
    return pd.read_csv(ROOT / "figures" / f"{NOTEBOOK}_{name}.csv")


def committed_points() -> pd.DataFrame:
    return lmf.fig1_points(*(_committed(name) for name in COLUMNS))


def test_committed_csvs_have_the_documented_columns():
    for name, columns in COLUMNS.items():
        assert _committed(name).columns.tolist() == columns


@pytest.mark.parametrize("point", REACHED)
def test_committed_default_run_reaches_point(point):
    """Decided by the one-sided t test over runs at lmf.ALPHA (its false-success rate for a nil effect); the
    committed CSVs are fixed bytes, so this test fails only if the CSVs or the rule change."""
    row = committed_points().loc[point]
    assert row["met"], (row["measured"], row["test"])


def test_readme_shows_the_committed_points():
    assert lmf.points_markdown(committed_points()) in documentation()


def test_readme_shows_the_committed_findings():
    frames = [_committed(name) for name in COLUMNS]
    findings = lmf.findings_markdown(committed_points(), frames[0], frames[2])
    assert findings in documentation()


def _notebook_markdown() -> str:
    """The text of the committed notebook's markdown cells."""
    notebook = json.loads((ROOT / "notebooks" / f"{NOTEBOOK}.ipynb").read_text())
    return "\n".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "markdown")


def test_readme_states_the_committed_notebook_run_time():
    import re

    notebook = json.loads((ROOT / "notebooks" / f"{NOTEBOOK}.ipynb").read_text())
    printed = "".join(text for cell in notebook["cells"] for out in cell.get("outputs", [])
                      for text in out.get("text", []))
    readme = documentation()
    for pattern in (r"notebook time: ([0-9.]+) min", r"compute in the chains: ([0-9.]+) min"):
        assert f"{re.search(pattern, printed).group(1)} min" in readme, pattern
    steps = [int(minutes) + float(seconds) / 60 for minutes, seconds in
             re.findall(r"real\s+(\d+)m([\d.]+)s", (ROOT / "benchmarks" / "lm_default_run.txt").read_text())]
    assert len(steps) == 2, "benchmarks/lm_default_run.txt should record its two steps' wall times"
    assert f"took {sum(steps):.0f} min of wall time" in readme
    assert f"runs 0–2 in {steps[0]:.0f} min, then runs 3 and 4 added to that cache in {steps[1]:.0f} min" in readme
    markdown = " ".join(_notebook_markdown().split())
    assert f"{sum(steps):.0f} min from an empty cache" in markdown
    assert f"With 3 runs ({steps[0]:.0f} min, within the 100-minute goal)" in markdown


def test_three_runs_leave_point_2_undecided():
    """The documents say why the default runs 5 times: on the first 3 runs of the committed CSVs (what the
    default computed before) point 2 is not met. Recomputed here, with the p value the documents quote."""
    three = [_committed(name).query("run < 3") for name in COLUMNS]
    row = lmf.fig1_points(*three).loc[2]
    assert not row["met"] and "2 dof, p = 0.2)" in row["test"], row["test"]
    for text in (" ".join(documentation().split()), " ".join(_notebook_markdown().split())):
        assert "(p = 0.2 with 2 degrees of freedom)" in text


def test_fewer_generations_show_a_prefix_of_a_stored_chain(tiny_folder):
    overrides = tiny_overrides(tiny_folder, policies=["replace"], epochs=[1], n_generations=2)
    longer = lm.run_all(start_run(NOTEBOOK, "smoke", overrides), progress=False)
    shorter = lm.run_all(start_run(NOTEBOOK, "smoke", {**overrides, "n_generations": 1}), progress=False)
    assert sorted(shorter.metrics["generation"]) == [0, 1] and sorted(shorter.sequences["generation"].unique()) == [0, 1]
    pd.testing.assert_frame_equal(shorter.metrics.drop(columns=TIMING),
                                  longer.metrics[longer.metrics["generation"] <= 1].drop(columns=TIMING))


@pytest.mark.parametrize("damage", ["gen_01/metrics.json", "gen_02/data.npz", "gen_01/test_sequence_ppl.npy"])
def test_damage_inside_a_finished_chain_is_reported_and_repaired(tiny_folder, capsys, damage):
    overrides = tiny_overrides(tiny_folder, policies=["replace"], epochs=[1], n_generations=2)
    run = start_run(NOTEBOOK, "smoke", overrides)
    reference = lm.run_all(run, progress=False)
    path = lm.chain_dir(run, Replace(), 1, "beam", 0) / damage
    path.write_bytes(path.read_bytes()[:10])
    capsys.readouterr()
    repaired = lm.run_all(start_run(NOTEBOOK, "smoke", overrides), progress=False)
    message = capsys.readouterr().err
    assert message.count(f"cache: {path} does not match its recorded sha256") == 1, message
    pd.testing.assert_frame_equal(repaired.metrics.drop(columns=TIMING), reference.metrics.drop(columns=TIMING))
    assert lm.run_all(start_run(NOTEBOOK, "smoke", overrides), progress=False).metrics.shape == reference.metrics.shape


def test_force_recomputes_the_tokenizer_and_the_pre_trained_model_too(monkeypatch):
    overrides = {"n_generations": 1, "policies": ["replace"], "epochs": [1], "decodings": []}
    lm.run_all(start_run(NOTEBOOK, "smoke", overrides), progress=False)
    calls = []
    real_train = lm_model.train
    monkeypatch.setattr(lm_model, "train", lambda *a, **k: calls.append(k.get("desc")) or real_train(*a, **k))
    lm.run_all(start_run(NOTEBOOK, "smoke", overrides), progress=False)
    assert calls == []  # everything loaded
    lm.run_all(start_run(NOTEBOOK, "smoke", overrides, force=True), progress=False)
    assert calls[0] == "pre-training" and len(calls) == 3  # pre-training, then models 0 and 1
