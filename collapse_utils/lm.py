"""The language-model collapse experiment (paper Fig. 1b,c and Example 1): a pre-trained language model
fine-tuned on WikiText-2 over generations (the computation; :mod:`collapse_utils.lm_figures` presents it).

Model 0 fine-tunes a pre-trained causal LM on real WikiText-2 blocks; model n+1 fine-tunes the
same pre-trained model on blocks that model n wrote (beam search continuing original training
blocks), mixed with real blocks as a data policy says. Every model is scored on the real test set.

Each chain (one setting, one run) goes through :func:`collapse_utils.recursion.run_generations`,
the loop every experiment shares, with the same policy classes: :class:`LMChain` adapts it, its
models being handles to per-generation folders (model, data, continuations, metrics, each with a
sha256 record), and the loop checkpoints after every generation. With ``keep_real_redraw`` (the
authors' code) KeepReal draws a new random subset of real blocks every generation, without it one
subset for the whole run; Accumulate pools everything. Next to the paper's beam search, a setting
may decode by ancestral sampling (``decodings``) to separate the decoding's bias from sampling error.

The pre-trained model is a pinned name (:mod:`collapse_utils.pretrained`; the default profile's
SmolLM2-135M), a hub name or folder, or 'scratch': a small OPT pre-trained here (the quick and smoke
profiles) on training articles that fine-tuning never sees (:func:`split_finetune_pretrain`),
optionally restyled (:func:`lm_data.plain_text`). Chains are independent and may run in several
processes (``workers``) sharing the cache.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Sequence

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import numpy as np
import pandas as pd
import torch

from . import cache, data, lm_model, pretrained
from .profiles import result_key
from .progress import progress_bar
from .devices import pick_device
from .lm_data import Blocks, check_block_size, drop_headings, encode_text, example_prompt, make_blocks, \
    ngram_stats, plain_text, resolve_variant, split_articles, train_tokenizer, load_tokenizer
from .recursion import Generation, KeepReal, Policy, Replace, check_positive_int, parse_policy, policy_label, run_generations

SCRATCH = lm_model.SCRATCH


@dataclass
class LMSettings:
    """Settings of notebook 05. The defaults are the default profile (``profiles.LM`` lists what the other
    profiles change): the pinned SmolLM2-135M fine-tuned in Fig. 1's two settings."""

    model_name: str = "smollm2-135m"  # a pinned name (collapse_utils.pretrained), a hub name, a folder, or 'scratch'
    vocab_size: int = 2048  # scratch only: BPE vocabulary trained on the training split
    d_model: int = 128  # scratch only: model width, layers, heads, feed-forward width
    n_layers: int = 2
    n_heads: int = 4
    ffn_dim: int = 512
    pretrain_blocks: int = 30000  # scratch only: training blocks used to pre-train model "zero-shot"
    pretrain_epochs: int = 1
    pretrain_lr: float = 1e-3
    data_variant: str = "auto"  # raw | tokens | auto (raw if the raw training split is available)
    text_limit: int = 0  # characters of each split used (0 = all)
    headings: bool = True  # keep WikiText's heading lines (`` = = Title = = ``), as the paper did
    pretrain_text: str = "plain"  # scratch only: pre-train on other articles as they are ('wikitext') or restyled
    row_special_tokens: bool = True  # authors' tokenisation: every text row with the tokenizer's special tokens
    keep_real_redraw: bool = True  # KeepReal draws a new random subset of real blocks every generation
    block_size: int = 64
    n_train_blocks: int = 16  # fine-tuning blocks (0 = all not used for pre-training)
    n_valid_blocks: int = 8  # 0 = all
    n_test_blocks: int = 64  # 0 = all
    lr: float = 1e-4
    lr_min: float = 1e-6
    batch_size: int = 4
    policies: list[str] = field(default_factory=lambda: ["replace", "keep_real:0.1"])
    epochs: list[int] = field(default_factory=lambda: [5, 10])
    decodings: list[str] = field(default_factory=list)  # per policy 'beam' or 'sample'; empty: all 'beam'
    n_generations: int = 9
    n_runs: int = 5
    num_beams: int = 5
    new_tokens: int = 64
    repetition_penalty: float = 3.0
    gen_batch_size: int = 16
    shown_generations: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 5, 9])  # in the histograms
    example_phrase: str = "some started before"
    keep_all_models: bool = False  # keep every generation's model (0.5 GB each for SmolLM2) or model 0 and the last
    n_threads: int = 1  # torch CPU threads per process; more than the free cores slows torch down many-fold
    workers: int = 2  # processes that run chains side by side (independent chains, one cache)

    #: Settings that change no cached number, so a chain's cache key leaves them out: which chains run
    #: and how many generations (each chain is keyed by its own policy, epochs, decoding and run index,
    #: and more generations extend a stored chain), what is shown, and speed.
    UNKEYED: ClassVar[dict[str, str]] = {
        "policies": "which chains run; each chain's key holds its own policy",
        "epochs": "each chain's key holds its own epoch count",
        "decodings": "each chain's key holds its own decoding",
        "n_generations": "more generations extend a stored chain; fewer show a prefix of it",
        "n_runs": "each chain's key holds its own run index",
        "shown_generations": "presentation: which generations the histograms show",
        "gen_batch_size": "speed: prompts per beam-search batch",
        "n_threads": "speed: torch threads per process",
        "workers": "speed: processes running chains side by side",
        "keep_all_models": "disk: a dropped model is trained again from its generation's stored data and seed",
    }

    def __post_init__(self) -> None:
        if not isinstance(self.model_name, str) or not self.model_name.strip():
            raise ValueError(f"model_name must be {SCRATCH!r}, a hub name or a model folder, got {self.model_name!r}")
        check_block_size(self.block_size)
        if self.pretrain_text not in ("wikitext", "plain"):
            raise ValueError(f"pretrain_text must be 'wikitext' or 'plain', got {self.pretrain_text!r}")
        if self.data_variant not in ("auto", "raw", "tokens"):
            raise ValueError(f"data_variant must be 'auto', 'raw' or 'tokens', got {self.data_variant!r}")
        for name in ("vocab_size", "d_model", "n_layers", "n_heads", "ffn_dim", "pretrain_epochs", "batch_size",
                     "n_runs", "num_beams", "new_tokens", "gen_batch_size", "n_threads", "workers", "n_generations"):
            check_positive_int(name, getattr(self, name))
        for name in ("pretrain_blocks", "text_limit", "n_train_blocks", "n_valid_blocks", "n_test_blocks"):
            check_positive_int(name, getattr(self, name), minimum=0)
        for name in ("lr", "lr_min", "pretrain_lr", "repetition_penalty"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name} must be a positive number, got {getattr(self, name)!r}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})")
        if not self.policies or len(self.policies) != len(self.epochs) or len(self.decodings) not in (
                0, len(self.policies)):
            raise ValueError(f"policies and epochs must be non-empty lists of equal length (one epoch count per "
                             f"policy), and decodings empty (beam search for all) or one per policy (override it with the policies); got "
                             f"{self.policies}, {self.epochs} and {self.decodings}")
        bad = [d for d in self.decodings if d not in lm_model.DECODINGS]
        if bad:
            raise ValueError(f"decodings must each be one of {lm_model.DECODINGS}, got {bad}")
        for policy, epochs in zip(self.policies, self.epochs):
            check_positive_int(f"epochs of {policy}", epochs)
            if not isinstance(parse_policy(policy), Replace) and self.new_tokens != self.block_size:
                raise ValueError(f"policy {policy!r} mixes real and generated blocks, so new_tokens "
                                 f"({self.new_tokens}) must equal block_size ({self.block_size})")
        if any(g < 0 for g in self.shown_generations):  # those past n_generations are not shown
            raise ValueError(f"shown_generations must be generations >= 0, got {self.shown_generations}")

    @property
    def scratch(self) -> bool:
        return self.model_name == SCRATCH

    def settings_list(self) -> list[tuple[Policy, int, str]]:
        """The (policy, epochs, decoding) triples, e.g. (Replace(), 5, 'beam') and (KeepReal(0.1), 10, 'beam')."""
        decodings = self.decodings or ["beam"] * len(self.policies)
        return [(self.policy(p), int(e), d) for p, e, d in zip(self.policies, self.epochs, decodings)]

    def policy(self, text: str) -> Policy:
        """The policy named ``text``; KeepReal redraws its real blocks every generation with ``keep_real_redraw``."""
        policy = parse_policy(text)
        return dataclasses.replace(policy, redraw=self.keep_real_redraw) if isinstance(policy, KeepReal) else policy


def setting_label(policy: Policy, epochs: int, decoding: str = "beam") -> str:
    """'replace, 5 epochs' etc.; ', sampling' is added for ancestral sampling instead of the paper's beam search."""
    return f"{policy_label(policy)}, {epochs} epoch{'s' if epochs != 1 else ''}" + (
        ", sampling" if decoding == "sample" else "")


# ----------------------------------------------------------------------------------------------
# Data, tokenizer and pre-trained model


@dataclass
class LMContext:
    """Everything a chain needs: settings, device, tokenizer, block sets, the pre-trained model's name."""

    settings: LMSettings
    device: torch.device
    tokenizer: Any
    variant: str
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    prompt: np.ndarray
    base_model: str
    zero_shot: dict[str, float]  # test_ppl and n_parameters of the pre-trained model
    progress: bool = True
    pretraining: dict = field(default_factory=dict)  # seconds and blocks of the scratch model's pre-training

    def decode(self, ids: np.ndarray) -> str:
        return self.tokenizer.decode(np.asarray(ids).tolist())


def _shared_dir(run, name: str, **key: Any) -> Path:
    """A cache folder keyed by ``key`` and the code version only (so tokenizer and pre-training survive
    changes of the other settings, never a change of the code that computes them)."""
    return cache.store_dir(f"{run.notebook}/{run.profile}", {"name": name, "seed": run.seed, **key}, run.code) / name


def _articles(run, tokenizer, folder: Path, variant: str, split: str, plain: bool = False) -> list[np.ndarray]:
    """Token ids of every article of one split (cached in ``folder``): headings kept or dropped, or
    in :func:`plain_text` style."""
    s = run.settings
    style = "plain" if plain else f"headings{int(s.headings)}"
    path = folder / f"{split}_{style}_rows{int(s.row_special_tokens)}.npz"
    stored = cache.load_or_report(path, lambda content: dict(np.load(io.BytesIO(content))))
    if stored is not None:
        return np.split(stored["ids"], np.cumsum(stored["lengths"])[:-1])
    text = data.load_wikitext2(split, variant)
    articles = split_articles(text[:s.text_limit] if s.text_limit else text)
    restyle = plain_text if plain else (lambda a: a) if s.headings else drop_headings
    ids = [encode_text(tokenizer, restyle(a), rows=s.row_special_tokens) for a in articles]
    lengths = np.array([len(a) for a in ids])
    buffer = io.BytesIO()
    np.savez(buffer, ids=np.concatenate(ids), lengths=lengths)
    cache.save_verified(path, buffer.getvalue())
    return ids


def _blocks(articles: Sequence[np.ndarray], block_size: int) -> np.ndarray:
    """The articles concatenated and cut into blocks."""
    return make_blocks(np.concatenate(list(articles)) if len(articles) else np.zeros(0, np.int64), block_size)


def split_finetune_pretrain(articles: Sequence[np.ndarray], n_train: int, n_pretrain: int, block_size: int,
                            rng: np.random.Generator | None,
                            pretrain_articles: Sequence[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fine-tuning and pre-training blocks from disjoint sets of articles.

    The articles are taken in a random order (``rng``; their own order when None). Fine-tuning
    gets the first ``n_train`` blocks of the fewest articles that hold them (all blocks when
    ``n_train`` is 0); pre-training ``n_pretrain`` blocks of the other articles, taken from the end
    of the order (so the pre-training set does not depend on ``n_train``) and from
    ``pretrain_articles`` (the same articles in another style) when given.
    """
    order = np.arange(len(articles)) if rng is None else rng.permutation(len(articles))
    other = [(pretrain_articles or articles)[i] for i in order]
    articles = [articles[i] for i in order]
    if n_train == 0:
        return _blocks(articles, block_size), np.zeros((0, block_size), dtype=np.int64)
    tokens = np.cumsum([len(a) for a in articles]) // block_size
    k = int(np.searchsorted(tokens, n_train)) + 1
    finetune, pretrain = _blocks(articles[:k], block_size)[:n_train], _blocks(other[k:][::-1], block_size)
    if len(finetune) < n_train or len(pretrain) < n_pretrain:
        raise ValueError(f"n_train_blocks + pretrain_blocks = {n_train + n_pretrain} exceeds the "
                         f"{len(_blocks(articles, block_size))} training blocks available; lower them")
    return finetune, pretrain[:n_pretrain]


def _tokenizer(run, variant: str) -> tuple[Any, Path]:
    """The tokenizer (trained and cached for 'scratch', else the model's own) and its cache folder."""
    s, folder = run.settings, _tokenizer_dir(run, variant)
    if not s.scratch:
        return load_tokenizer(pretrained.resolve(s.model_name)), folder
    if not cache.folder_intact(folder / "bpe"):
        text = data.load_wikitext2("train", variant)
        train_tokenizer(text[:s.text_limit] if s.text_limit else text, s.vocab_size, folder / "bpe")
        cache.seal_folder(folder / "bpe")
    return load_tokenizer(folder / "bpe"), folder


def _tokenizer_dir(run, variant: str) -> Path:
    """Cache folder of the tokenizer (trained here for 'scratch') and of the tokenised splits."""
    s = run.settings
    if not s.scratch:
        return _shared_dir(run, "encoded", model=s.model_name, variant=variant, limit=s.text_limit)
    return _shared_dir(run, "tokenizer", vocab=s.vocab_size, variant=variant, limit=s.text_limit)


def _pretrained_dir(run) -> Path:
    """Cache folder of the scratch model's pre-training."""
    s = run.settings
    return _shared_dir(run, "pretrained", **{k: getattr(s, k) for k in (
        "vocab_size", "d_model", "n_layers", "n_heads", "ffn_dim", "pretrain_blocks", "pretrain_epochs",
        "pretrain_lr", "lr_min", "batch_size", "data_variant", "text_limit", "block_size", "n_valid_blocks",
        "headings", "row_special_tokens", "pretrain_text")})


def _subset(blocks: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random blocks in their original order (all when ``n`` is 0 or too large)."""
    if n == 0 or n >= len(blocks):
        return blocks
    return blocks[np.sort(rng.choice(len(blocks), n, replace=False))]


def prepare(run, progress: bool = True) -> LMContext:
    """Tokenizer, block sets, the example prompt, and the pre-trained model (pre-trained here for 'scratch')."""
    s = run.settings
    device = pick_device("auto", s.n_threads)
    variant = resolve_variant(s.data_variant)
    tokenizer, folder = _tokenizer(run, variant)
    plain = s.scratch and s.pretrain_text == "plain"
    finetune, pretrain = split_finetune_pretrain(
        _articles(run, tokenizer, folder, variant, "train"), s.n_train_blocks, s.pretrain_blocks if s.scratch else 0,
        s.block_size, run.rng("split") if s.n_train_blocks else None,
        _articles(run, tokenizer, folder, variant, "train", plain=True) if plain else None)
    split = lambda name: _blocks(_articles(run, tokenizer, folder, variant, name), s.block_size)
    valid = _subset(split("valid"), s.n_valid_blocks, run.rng("valid"))
    test = _subset(split("test"), s.n_test_blocks, run.rng("test"))
    base = _pretrain(run, tokenizer, pretrain, valid, device, progress) if s.scratch else pretrained.resolve(s.model_name)
    text = data.load_wikitext2("train", variant)
    prompt = example_prompt(tokenizer, text if s.headings else drop_headings(text), s.example_phrase, s.block_size)
    zero_shot = _zero_shot(run, base, test, device)
    record = Path(base).parent / "pretraining.json"
    pretraining = (cache.load_or_report(record, json.loads) or {}) if s.scratch else {}
    return LMContext(s, device, tokenizer, variant, finetune, valid, test, prompt, base, zero_shot, progress,
                     pretraining)


def _pretrain(run, tokenizer, blocks: np.ndarray, valid: np.ndarray, device, progress: bool) -> str:
    """Pre-train the scratch OPT once (cached) and return its folder."""
    s, folder = run.settings, _pretrained_dir(run) / "model"
    if not cache.folder_intact(folder):
        start = time.monotonic()
        model = lm_model.scratch_model(len(tokenizer), s.d_model, s.n_layers, s.n_heads, s.ffn_dim,
                                       2 * s.block_size + s.new_tokens, tokenizer.pad_token_id,
                                       tokenizer.eos_token_id, run.rng("init")).to(device)
        lm_model.train(model, blocks, valid, s.pretrain_epochs, s.pretrain_lr, s.lr_min, s.batch_size, device,
                       run.rng("pretrain"), progress, desc="pre-training")
        lm_model.save_model(model, folder)
        cache.save_verified(folder.parent / "pretraining.json", json.dumps(
            {"seconds": time.monotonic() - start, "blocks": len(blocks)}).encode())
    return str(folder)


def _zero_shot(run, base: str, test: np.ndarray, device) -> dict[str, float]:
    """Test perplexity (``test_ppl``) and parameter count (``n_parameters``) of the pre-trained model
    before fine-tuning (cached)."""
    path = zero_shot_dir(run) / "zero_shot.json"
    stored = cache.load_or_report(path, json.loads)
    if stored is not None:
        return stored
    model = lm_model.load_model(base, device)
    record = {"test_ppl": lm_model.perplexity(model, test, device, run.settings.batch_size),
              "n_parameters": sum(p.numel() for p in model.parameters())}
    cache.save_verified(path, json.dumps(record).encode())
    return record


# ----------------------------------------------------------------------------------------------
# One chain of generations

def _chain_key(run) -> dict[str, Any]:
    return result_key(run.settings)


def chain_dir(run, policy: Policy, epochs: int, decoding: str, index: int) -> Path:
    """Cache folder of run ``index`` of one setting: the loop's checkpoint and ``gen_00/``, ``gen_01/``, ...
    (model, training data, continuations, metrics)."""
    return _shared_dir(run, "chain", **_chain_key(run), policy=policy_label(policy), epochs=epochs,
                       decoding=decoding, run_index=index)


def zero_shot_dir(run) -> Path:
    """Cache folder of the zero-shot test perplexity."""
    return _shared_dir(run, "zero_shot", **_chain_key(run))


def _save_array(path: Path, values: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, values)
    cache.save_verified(path, buffer.getvalue())


def _load_array(path: Path) -> np.ndarray:
    return np.load(io.BytesIO(cache.read_verified(path)))


@dataclass
class LMChain:
    """One chain as an :class:`~collapse_utils.recursion.Experiment` of the generational loop.

    Its models are :class:`Generation` handles to folders ``root/gen_NN`` that hold the model, its
    training data, its continuations and its metrics (each file written atomically with a sha256
    record), so the loop's checkpoint stays small and a generation finished before an interrupt is
    loaded, not recomputed. Every method draws the same numbers from ``rng`` whether it computes or
    loads, so a resumed chain continues on the same random stream.
    """

    ctx: LMContext
    root: Path
    epochs: int
    decoding: str = "beam"

    def fit(self, data: Blocks, previous: Generation | None, rng: np.random.Generator) -> Generation:
        seed = int(rng.integers(2**62))
        number = 0 if previous is None else previous.number + 1
        folder = self.root / f"gen_{number:02d}"
        if cache.load_or_report(folder / "metrics.json", json.loads) is None:
            self._fit(data, folder, number, seed)
        if previous is not None and previous.number > 0 and not self.ctx.settings.keep_all_models:
            shutil.rmtree(previous.folder / "model", ignore_errors=True)
        return Generation(number, folder)

    def _fit(self, data: Blocks, folder: Path, number: int, seed: int) -> None:
        """Fine-tune the pre-trained model on ``data``, score it and store everything in ``folder``."""
        ctx = self.ctx
        cache.save_verified(folder / "data.npz", data.to_bytes())
        start = time.monotonic()
        model, history = self._train(data, folder, seed)
        info = {"valid_history": history, "best_epoch": int(np.argmin(history)) + 1,
                "train_seconds": time.monotonic() - start, "fit_seed": seed}
        model0 = model if number == 0 else self._model(Generation(0, self.root / "gen_00"))
        scored = data if number == 0 else data.written_by(number - 1)
        start = time.monotonic()
        metrics, ppl, test_ppl = evaluate(ctx, model, model0, scored)
        info["score_seconds"] = time.monotonic() - start
        if number > 0:
            info["sample_seconds"] = json.loads(cache.read_verified(self.root / f"gen_{number - 1:02d}" /
                                                                    "samples.json"))["seconds"]
        _save_array(folder / "sequence_ppl.npy", ppl)
        _save_array(folder / "test_sequence_ppl.npy", test_ppl)
        cache.save_verified(folder / "metrics.json", json.dumps({**info, **metrics}, indent=1).encode())

    def _train(self, data: Blocks, folder: Path, seed: int) -> tuple[Any, list[float]]:
        """The pre-trained model fine-tuned on ``data`` with ``seed`` (saved in ``folder/model``), and its
        validation losses."""
        ctx, s = self.ctx, self.ctx.settings
        model = lm_model.load_model(ctx.base_model, ctx.device)
        history = lm_model.train(model, data.ids, ctx.valid, self.epochs, s.lr, s.lr_min, s.batch_size, ctx.device,
                                 np.random.default_rng(seed), ctx.progress, desc=f"fine-tuning {folder.name}")
        lm_model.save_model(model, folder / "model")
        return model, history

    def _model(self, model: Generation):
        """The fine-tuned model of a generation; if its folder is damaged (or was dropped), it is trained
        again from the generation's stored data and seed, which gives the same weights."""
        if not cache.folder_intact(model.folder / "model"):
            record = json.loads(cache.read_verified(model.folder / "metrics.json"))
            data = Blocks.from_bytes(cache.read_verified(model.folder / "data.npz"))
            return self._train(data, model.folder, record["fit_seed"])[0]
        return lm_model.load_model(model.folder / "model", self.ctx.device)

    def sample(self, model: Generation, n: int, rng: np.random.Generator) -> Blocks:
        """Continuations by ``model`` of ``n`` original training blocks (all of them, or a random subset)."""
        prompts = self.ctx.train
        index = np.arange(len(prompts)) if n == len(prompts) else np.sort(rng.choice(len(prompts), n, replace=False))
        seed = int(rng.integers(2**62))
        path = model.folder / "samples.npz"
        stored = cache.load_or_report(path, Blocks.from_bytes)
        record = cache.load_or_report(model.folder / "samples.json", json.loads)
        if stored is None or record is None or record["prompts"] != index.tolist():
            start = time.monotonic()
            loaded = self._model(model)
            ids = continue_blocks(self.ctx, loaded, prompts[index], self.decoding, np.random.default_rng(seed))
            stored = Blocks.written(ids, model.number)
            cache.save_verified(path, stored.to_bytes())
            cache.save_verified(model.folder / "samples.json", json.dumps(
                {"prompts": index.tolist(), "seconds": time.monotonic() - start}).encode())
        return stored

    def subset(self, blocks: Blocks, n: int, rng: np.random.Generator) -> Blocks:
        return blocks.take(np.sort(rng.choice(len(blocks), n, replace=False)))

    def combine(self, parts: Sequence[Blocks]) -> Blocks:
        return Blocks.concat(parts)

    def metrics(self, model: Generation) -> dict[str, np.ndarray]:
        values = json.loads(cache.read_verified(model.folder / "metrics.json"))
        return {k: np.asarray([v]) for k, v in values.items() if k != "valid_history"}


def continue_blocks(ctx: LMContext, model, prompts: np.ndarray, decoding: str = "beam",
                    rng: np.random.Generator | None = None) -> np.ndarray:
    """Continuations of ``prompts``: the paper's beam search, or ancestral sampling (``decoding='sample'``)."""
    s = ctx.settings
    return lm_model.continue_prompts(model, list(prompts), s.new_tokens, s.num_beams, s.repetition_penalty,
                                     ctx.tokenizer.pad_token_id, ctx.tokenizer.eos_token_id, ctx.device,
                                     s.gen_batch_size, ctx.progress, decoding, rng)


def evaluate(ctx: LMContext, model, model0, scored: Blocks) -> tuple[dict, np.ndarray, np.ndarray]:
    """Metrics of one generation: test/validation perplexity, n-gram statistics of ``scored`` and the
    model's (beam-search) continuation of the example prompt; the per-sequence perplexity of ``scored``
    under model 0; the per-sequence perplexity of the real test blocks under ``model``."""
    s = ctx.settings
    nll = lm_model.sequence_nll(model0, scored.ids, ctx.device, s.batch_size, ctx.progress)
    test_nll = lm_model.sequence_nll(model, ctx.test, ctx.device, s.batch_size)
    example = continue_blocks(ctx, model, ctx.prompt[None, :])[0]
    metrics = {"test_ppl": float(np.exp(test_nll.mean())),
               "valid_ppl": lm_model.perplexity(model, ctx.valid, ctx.device, s.batch_size),
               "example": ctx.decode(example), **ngram_stats(scored.ids)}
    return metrics, np.exp(nll), np.exp(test_nll)


Chain = tuple[Policy, int, str, int]  # policy, epochs, decoding, run


def run_chain(ctx: LMContext, run, chain: Chain) -> pd.DataFrame:
    """All generations of one chain through :func:`~collapse_utils.recursion.run_generations`, checkpointed
    after every generation and resumed from the cache; one row of metrics per generation."""
    policy, epochs, decoding, index = chain
    label, root = setting_label(policy, epochs, decoding), chain_dir(run, *chain)
    real = Blocks.original(ctx.train)
    n = ctx.settings.n_generations
    with cache.lock(root):
        for attempt in range(2):
            frame = run_generations(LMChain(ctx, root, epochs, decoding), real, n, len(real), policy,
                                    run.rng("chain", label, index), checkpoint=root / "loop.pkl",
                                    checkpoint_seconds=0, progress=ctx.progress, description=label)
            frame = frame[frame["generation"] <= n]  # a stored chain may be longer than asked for
            damaged = _first_damaged(root, frame["generation"], last=n)
            if damaged is None:
                break
            _drop_from(root, damaged)  # the rerun loads the generations before it and recomputes the rest
    return frame.drop(columns=["chain", "policy"]).assign(
        setting=label, policy=policy_label(policy), epochs=epochs, decoding=decoding, run=index)


#: The files of a finished generation that the results are read from (samples too, except the last one's).
GENERATION_FILES = ("metrics.json", "data.npz", "sequence_ppl.npy", "test_sequence_ppl.npy")


def _first_damaged(root: Path, generations: Sequence[int], last: int) -> int | None:
    """The first generation of a stored chain with a missing or damaged file (reported in one line), or None."""
    for g in generations:
        folder = root / f"gen_{g:02d}"
        names = GENERATION_FILES + (("samples.npz", "samples.json") if g < last else ())
        for name in names:
            try:
                cache.read_verified(folder / name)
            except (OSError, cache.CorruptFileError) as error:
                reason = error if isinstance(error, cache.CorruptFileError) else f"{folder / name} is missing"
                print(f"cache: {reason}; recomputing generation {g} and later ones", file=sys.stderr)
                return g
    return None


def _drop_from(root: Path, generation: int) -> None:
    """Delete the loop checkpoint and the folders of ``generation`` and later ones."""
    (root / "loop.pkl").unlink(missing_ok=True)
    for folder in root.glob("gen_*"):
        if int(folder.name[4:]) >= generation:
            shutil.rmtree(folder)


# ----------------------------------------------------------------------------------------------
# Results


@dataclass
class LMResults:
    """Frames of one experiment: per-generation metrics; per-sequence perplexity of each generation's
    training data under model 0 (``sequences``) and of the real test blocks under each model (``forgetting``)."""

    metrics: pd.DataFrame
    sequences: pd.DataFrame
    forgetting: pd.DataFrame
    zero_shot: float
    prompt: str
    variant: str
    pretraining: dict
    model_name: str
    n_parameters: int


def chains(settings: LMSettings) -> list[Chain]:
    """Every (policy, epochs, decoding, run) of the settings."""
    return [(*setting, index) for setting in settings.settings_list() for index in range(settings.n_runs)]


def run_all(run, progress: bool = True) -> LMResults:
    """Every chain of the run's settings (computed or loaded from the per-generation cache).

    With ``run.force`` everything the run computed is computed again: the chains, the zero-shot score,
    the tokenised data and (for 'scratch') the tokenizer and the pre-trained model. Under ``torchrun``
    each process computes its share of the chains first (see :func:`share`).
    """
    todo = chains(run.settings)
    if run.force:
        variant = resolve_variant(run.settings.data_variant)
        for folder in [chain_dir(run, *chain) for chain in todo] + [zero_shot_dir(run), _tokenizer_dir(run, variant),
                                                                    _pretrained_dir(run)]:
            cache.clear(folder)
    ctx = prepare(run, progress)
    _run_chains(ctx, run, share(todo))
    metric_rows, sequence_rows, forgetting_rows = [], [], []
    for chain in todo:
        frame = run_chain(ctx, run, chain)  # loads what is done; waits for a chain another process computes
        metric_rows.append(frame)
        root = chain_dir(run, *chain)
        keys = frame.iloc[0][["setting", "policy", "epochs", "decoding", "run"]].to_dict()
        for g in frame["generation"]:
            folder = root / f"gen_{g:02d}"
            sequence_rows.append(pd.DataFrame({**keys, "generation": g, "ppl": _load_array(folder / "sequence_ppl.npy")}))
            forgetting_rows.append(pd.DataFrame({**keys, "generation": g, "sequence": np.arange(len(ctx.test)),
                                                 "ppl": _load_array(folder / "test_sequence_ppl.npy")}))
    return LMResults(pd.concat(metric_rows, ignore_index=True), pd.concat(sequence_rows, ignore_index=True),
                     pd.concat(forgetting_rows, ignore_index=True), ctx.zero_shot["test_ppl"], ctx.decode(ctx.prompt),
                     ctx.variant, ctx.pretraining, run.settings.model_name, int(ctx.zero_shot["n_parameters"]))


def share(todo: list[Chain]) -> list[Chain]:
    """This process's share of the chains: every one, or under ``torchrun`` (``RANK``/``WORLD_SIZE`` set)
    every WORLD_SIZE-th from RANK on. The processes share the cache and its locks, so afterwards each
    loads the others' chains (waiting for those still running)."""
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    return todo[rank::world]


def _run_chains(ctx: LMContext, run, todo: list[Chain]) -> None:
    """Run ``todo`` here, or in ``settings.workers`` processes (the costliest chains first)."""
    if run.settings.workers == 1:
        for chain in todo:
            run_chain(ctx, run, chain)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    cost = {"accumulate": 0, "keep_real": 1, "replace": 2}
    ordered = sorted(todo, key=lambda chain: (cost.get(chain[0].name, 0), chain[2] == "sample", -chain[1]))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(run.settings.workers, mp_context=context) as pool:
        jobs = [pool.submit(_chain_job, run, chain) for chain in ordered]
        for job in progress_bar(iterable=as_completed(jobs), total=len(jobs), enabled=ctx.progress, leave=True,
                                desc=f"chains ({run.settings.workers} processes)"):
            job.result()


def _chain_job(run, chain: Chain) -> None:
    """One chain in a worker process (tokenizer, data and pre-trained model come from the cache)."""
    run_chain(prepare(run, progress=False), run, chain)
