"""The language-model collapse experiment (paper Fig. 1b,c and Example 1): OPT on WikiText-2 over generations.

Model 0 fine-tunes a pre-trained causal LM on real WikiText-2 blocks; model n+1 fine-tunes the
same pre-trained model on blocks that model n wrote (beam search continuing original training
blocks), mixed with real blocks as a data policy says. Every model is scored on the real test set.

Why not :func:`collapse_utils.recursion.run_generations`: one generation here costs minutes to
hours and its state is a model checkpoint plus a dataset, so the loop keeps its own cache, one
folder per generation (``model/``, ``data.npz``, ``metrics.json``, all written atomically) and
resumes at the first unfinished step. It uses the same policy classes (``Replace``,
``KeepReal``, ``Accumulate``) through :class:`PromptSource`, so the data semantics are shared:
KeepReal keeps one random subset of real blocks for the whole run, Accumulate pools everything.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from . import cache, data, lm_model
from .devices import pick_device
from .lm_data import Blocks, check_block_size, encode_text, example_prompt, make_blocks, ngram_stats, \
    resolve_variant, train_tokenizer, load_tokenizer
from .recursion import Accumulate, Policy, Replace, check_positive_int, parse_policy, policy_label

SCRATCH = lm_model.SCRATCH


@dataclass
class LMSettings:
    """Settings of notebook 05 (see ``profiles.LM`` for the values of each profile)."""

    model_name: str = SCRATCH  # 'scratch', a hub name (facebook/opt-125m) or a save_pretrained folder
    vocab_size: int = 2048  # scratch only: BPE vocabulary trained on the training split
    d_model: int = 128  # scratch only: model width, layers, heads, feed-forward width
    n_layers: int = 2
    n_heads: int = 4
    ffn_dim: int = 512
    pretrain_blocks: int = 20000  # scratch only: training blocks used to pre-train model "zero-shot"
    pretrain_epochs: int = 1
    pretrain_lr: float = 1e-3
    data_variant: str = "auto"  # raw | tokens | auto (raw if the raw training split is available)
    text_limit: int = 0  # characters of each split used (0 = all)
    block_size: int = 64
    n_train_blocks: int = 256  # fine-tuning blocks (0 = all not used for pre-training)
    n_valid_blocks: int = 128  # 0 = all
    n_test_blocks: int = 512  # 0 = all
    lr: float = 2e-5
    lr_min: float = 1e-6
    batch_size: int = 128
    policies: list[str] = field(default_factory=lambda: ["replace", "keep_real:0.1", "accumulate"])
    epochs: list[int] = field(default_factory=lambda: [5, 10, 5])
    n_generations: int = 9
    n_runs: int = 1
    num_beams: int = 5
    new_tokens: int = 64
    repetition_penalty: float = 3.0
    gen_batch_size: int = 64
    histogram_generations: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 5, 9])
    example_phrase: str = "some started before"
    keep_all_models: bool = True
    threads: int = 1  # torch CPU threads; more than the free cores slows torch down many-fold

    def __post_init__(self) -> None:
        if not isinstance(self.model_name, str) or not self.model_name.strip():
            raise ValueError(f"model_name must be {SCRATCH!r}, a hub name or a model folder, got {self.model_name!r}")
        check_block_size(self.block_size)
        if self.data_variant not in ("auto", "raw", "tokens"):
            raise ValueError(f"data_variant must be 'auto', 'raw' or 'tokens', got {self.data_variant!r}")
        for name in ("vocab_size", "d_model", "n_layers", "n_heads", "ffn_dim", "pretrain_epochs", "batch_size",
                     "n_runs", "num_beams", "new_tokens", "gen_batch_size", "threads", "n_generations"):
            check_positive_int(name, getattr(self, name))
        for name in ("pretrain_blocks", "text_limit", "n_train_blocks", "n_valid_blocks", "n_test_blocks"):
            check_positive_int(name, getattr(self, name), minimum=0)
        for name in ("lr", "lr_min", "pretrain_lr", "repetition_penalty"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name} must be a positive number, got {getattr(self, name)!r}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})")
        if len(self.policies) != len(self.epochs) or not self.policies:
            raise ValueError(f"policies and epochs must be non-empty lists of equal length (one epoch count per "
                             f"policy), got {self.policies} and {self.epochs}")
        for policy, epochs in zip(self.policies, self.epochs):
            check_positive_int(f"epochs of {policy}", epochs)
            if not isinstance(parse_policy(policy), Replace) and self.new_tokens != self.block_size:
                raise ValueError(f"policy {policy!r} mixes real and generated blocks, so new_tokens "
                                 f"({self.new_tokens}) must equal block_size ({self.block_size})")
        if any(g < 0 or g > self.n_generations for g in self.histogram_generations):
            raise ValueError(f"histogram_generations must lie in 0..n_generations={self.n_generations}, "
                             f"got {self.histogram_generations}")

    @property
    def scratch(self) -> bool:
        return self.model_name == SCRATCH

    def settings_list(self) -> list[tuple[Policy, int]]:
        """The (policy, epochs) pairs, e.g. (Replace(), 5) and (KeepReal(0.1), 10)."""
        return [(parse_policy(p), int(e)) for p, e in zip(self.policies, self.epochs)]


def setting_label(policy: Policy, epochs: int) -> str:
    """'replace, 5 epochs' etc."""
    return f"{policy_label(policy)}, {epochs} epoch{'s' if epochs != 1 else ''}"


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
    zero_shot: float
    progress: bool = True

    def decode(self, ids: np.ndarray) -> str:
        return self.tokenizer.decode(np.asarray(ids).tolist())


def _shared_dir(run, name: str, **key: Any) -> Path:
    """A cache folder keyed only by ``key`` (so tokenizer and pre-training survive other setting changes)."""
    return cache.result_dir(run.notebook, run.profile, {"name": name, "seed": run.seed, **key}) / name


def _split_blocks(run, tokenizer, folder: Path, variant: str, split: str) -> np.ndarray:
    """All blocks of one split (its token ids are cached in ``folder``)."""
    text = data.load_wikitext2(split, variant)
    limit = run.settings.text_limit
    text = text[:limit] if limit else text
    path = folder / f"{split}.npy"
    if path.exists():
        ids = np.load(path)
    else:
        ids = encode_text(tokenizer, text)
        cache.atomic_write_stream(path, lambda f: np.save(f, ids))
    return make_blocks(ids, run.settings.block_size)


def _tokenizer(run, variant: str) -> tuple[Any, Path]:
    """The tokenizer (trained and cached for 'scratch', else the model's own) and its cache folder."""
    s = run.settings
    if not s.scratch:
        folder = _shared_dir(run, "encoded", model=s.model_name, variant=variant, limit=s.text_limit)
        return load_tokenizer(s.model_name), folder
    folder = _shared_dir(run, "tokenizer", vocab=s.vocab_size, variant=variant, limit=s.text_limit)
    if not (folder / "tokenizer.json").exists():
        text = data.load_wikitext2("train", variant)
        train_tokenizer(text[:s.text_limit] if s.text_limit else text, s.vocab_size, folder)
    return load_tokenizer(folder), folder


def _subset(blocks: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random blocks in their original order (all when ``n`` is 0 or too large)."""
    if n == 0 or n >= len(blocks):
        return blocks
    return blocks[np.sort(rng.choice(len(blocks), n, replace=False))]


def prepare(run, progress: bool = True) -> LMContext:
    """Tokenizer, block sets, the example prompt, and the pre-trained model (pre-trained here for 'scratch')."""
    s = run.settings
    device = pick_device("auto", s.threads)
    variant = resolve_variant(s.data_variant)
    tokenizer, folder = _tokenizer(run, variant)
    train = _split_blocks(run, tokenizer, folder, variant, "train")
    valid = _subset(_split_blocks(run, tokenizer, folder, variant, "valid"), s.n_valid_blocks, run.rng("valid"))
    test = _subset(_split_blocks(run, tokenizer, folder, variant, "test"), s.n_test_blocks, run.rng("test"))
    order = run.rng("split").permutation(len(train))
    n_pretrain = s.pretrain_blocks if s.scratch else 0
    n_train = s.n_train_blocks or len(train) - n_pretrain
    if n_train + n_pretrain > len(train):
        raise ValueError(f"n_train_blocks + pretrain_blocks = {n_train + n_pretrain} exceeds the "
                         f"{len(train)} training blocks available; lower them")
    finetune = train[np.sort(order[:n_train])]
    if s.scratch:
        pretrain = train[order[n_train:n_train + n_pretrain]]
        base = _pretrain(run, tokenizer, pretrain, valid, device, progress)
    else:
        base = s.model_name
    prompt = example_prompt(tokenizer, data.load_wikitext2("train", variant), s.example_phrase, s.block_size)
    zero_shot = _zero_shot(run, base, test, device)
    return LMContext(s, device, tokenizer, variant, finetune, valid, test, prompt, base, zero_shot, progress)


def _pretrain(run, tokenizer, blocks: np.ndarray, valid: np.ndarray, device, progress: bool) -> str:
    """Pre-train the scratch OPT once (cached) and return its folder."""
    s = run.settings
    folder = _shared_dir(run, "pretrained", **{k: getattr(s, k) for k in (
        "vocab_size", "d_model", "n_layers", "n_heads", "ffn_dim", "pretrain_blocks", "pretrain_epochs",
        "pretrain_lr", "lr_min", "batch_size", "data_variant", "text_limit", "block_size", "n_train_blocks",
        "n_valid_blocks")}) / "model"
    if not (folder / "config.json").exists():
        model = lm_model.scratch_model(len(tokenizer), s.d_model, s.n_layers, s.n_heads, s.ffn_dim,
                                       2 * s.block_size + s.new_tokens, tokenizer.pad_token_id,
                                       tokenizer.eos_token_id, run.rng("init")).to(device)
        lm_model.train(model, blocks, valid, s.pretrain_epochs, s.pretrain_lr, s.lr_min, s.batch_size, device,
                       run.rng("pretrain"), progress, desc="pre-training")
        lm_model.save_model(model, folder)
    return str(folder)


def _zero_shot(run, base: str, test: np.ndarray, device) -> float:
    """Test perplexity of the pre-trained model before fine-tuning (cached)."""
    path = zero_shot_dir(run) / "zero_shot.json"
    if path.exists():
        return json.loads(path.read_text())["test_ppl"]
    value = lm_model.perplexity(lm_model.load_model(base, device), test, device, run.settings.batch_size)
    cache.atomic_write_json(path, {"test_ppl": value})
    return value


# ----------------------------------------------------------------------------------------------
# One chain of generations

#: Settings that do not change a chain's results (which chains run, how many generations, speed,
#: plotting); they are left out of its cache key, so that adding a policy, a run or generations
#: reuses the chains already computed.
NOT_IN_CHAIN_KEY = ("policies", "epochs", "n_generations", "n_runs", "histogram_generations", "gen_batch_size",
                    "threads", "keep_all_models")


def _chain_key(run) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(run.settings).items() if k not in NOT_IN_CHAIN_KEY}


def chain_dir(run, policy: Policy, epochs: int, replicate: int) -> Path:
    """Cache folder of one chain: ``gen_00/``, ``gen_01/``, ... each with model, data and metrics."""
    return _shared_dir(run, "chain", **_chain_key(run), policy=policy_label(policy), epochs=epochs,
                       replicate=replicate)


def zero_shot_dir(run) -> Path:
    """Cache folder of the zero-shot test perplexity."""
    return _shared_dir(run, "zero_shot", **_chain_key(run))


class PromptSource:
    """Adapter that lets the recursion policies build LM training sets.

    ``sample(model, n, rng)`` continues ``n`` original training blocks (all of them when ``n``
    is their number, else a random subset) with the model; the new tokens are the samples.
    """

    def __init__(self, ctx: LMContext):
        self.ctx = ctx
        self.last: Blocks | None = None

    def subset(self, blocks: Blocks, n: int, rng: np.random.Generator) -> Blocks:
        return blocks.take(np.sort(rng.choice(len(blocks), n, replace=False)))

    def combine(self, parts: Sequence[Blocks]) -> Blocks:
        return Blocks.concat(parts)

    def sample(self, model, n: int, rng: np.random.Generator) -> Blocks:
        prompts = self.ctx.train
        index = np.arange(len(prompts)) if n == len(prompts) else np.sort(rng.choice(len(prompts), n, replace=False))
        ids = continue_blocks(self.ctx, model, prompts[index])
        self.last = Blocks(ids, np.zeros(len(ids), dtype=bool))
        return self.last


def continue_blocks(ctx: LMContext, model, prompts: np.ndarray) -> np.ndarray:
    """Beam-search continuations of ``prompts`` with the paper's generation settings."""
    s = ctx.settings
    return lm_model.continue_prompts(model, list(prompts), s.new_tokens, s.num_beams, s.repetition_penalty,
                                     ctx.tokenizer.pad_token_id, ctx.tokenizer.eos_token_id, ctx.device,
                                     s.gen_batch_size, ctx.progress)


def fit(ctx: LMContext, blocks: Blocks, epochs: int, folder: Path, rng: np.random.Generator) -> tuple[Any, dict]:
    """Fine-tune the pre-trained model on ``blocks`` (or load it from ``folder`` if already done)."""
    s = ctx.settings
    info_path = folder.parent / "fit.json"
    if (folder / "config.json").exists() and info_path.exists():
        return lm_model.load_model(folder, ctx.device), json.loads(info_path.read_text())
    model = lm_model.load_model(ctx.base_model, ctx.device)
    start = time.monotonic()
    history = lm_model.train(model, blocks.ids, ctx.valid, epochs, s.lr, s.lr_min, s.batch_size, ctx.device,
                             rng, ctx.progress, desc=f"fine-tuning {folder.parent.name}")
    info = {"valid_history": history, "best_epoch": int(np.argmin(history)) + 1,
            "train_seconds": time.monotonic() - start}
    lm_model.save_model(model, folder)
    cache.atomic_write_json(info_path, info)
    return model, info


def evaluate(ctx: LMContext, model, model0, scored: Blocks) -> tuple[dict, np.ndarray]:
    """Test/validation perplexity, n-gram statistics of ``scored``, its per-sequence perplexity under model 0,
    and the model's continuation of the example prompt."""
    s = ctx.settings
    nll = lm_model.sequence_nll(model0, scored.ids, ctx.device, s.batch_size, ctx.progress)
    example = continue_blocks(ctx, model, ctx.prompt[None, :])[0]
    metrics = {"test_ppl": lm_model.perplexity(model, ctx.test, ctx.device, s.batch_size),
               "valid_ppl": lm_model.perplexity(model, ctx.valid, ctx.device, s.batch_size),
               "example": ctx.decode(example), **ngram_stats(scored.ids)}
    return metrics, np.exp(nll)


def run_chain(ctx: LMContext, run, policy: Policy, epochs: int, replicate: int) -> Path:
    """All generations of one (policy, epochs, replicate) chain, resumable; returns its folder."""
    s, label = ctx.settings, setting_label(policy, epochs)
    root = chain_dir(run, policy, epochs, replicate)
    source, real = PromptSource(ctx), Blocks.original(ctx.train)
    state = policy.start(source, real, len(real), run.rng("start", label, replicate))
    model0 = None
    for g in tqdm(range(s.n_generations + 1), desc=label, disable=not ctx.progress):
        folder = root / f"gen_{g:02d}"
        blocks = real if g == 0 else Blocks.load(folder / "data.npz")
        state = blocks if isinstance(policy, Accumulate) and g > 0 else state
        model = None
        if not (folder / "metrics.json").exists():
            model, info = fit(ctx, blocks, epochs, folder / "model", run.rng("fit", label, replicate, g))
            if model0 is None:
                model0 = model if g == 0 else lm_model.load_model(root / "gen_00" / "model", ctx.device)
            scored = real if g == 0 else Blocks.load(folder / "fresh.npz")
            metrics, ppl = evaluate(ctx, model, model0, scored)
            cache.atomic_write_stream(folder / "sequence_ppl.npy", lambda f: np.save(f, ppl))
            cache.atomic_write_json(folder / "metrics.json", {**info, **metrics})
        following = root / f"gen_{g + 1:02d}"
        if g < s.n_generations and not (following / "data.npz").exists():
            if model is None:
                model = lm_model.load_model(folder / "model", ctx.device)
            start = time.monotonic()
            blocks, state = policy.training_data(source, model, state, len(real), run.rng("sample", label, replicate, g))
            source.last.save(following / "fresh.npz")
            cache.atomic_write_json(following / "sampling.json", {"sample_seconds": time.monotonic() - start})
            blocks.save(following / "data.npz")
        if g > 0 and not s.keep_all_models and (following / "data.npz").exists():
            shutil.rmtree(folder / "model", ignore_errors=True)
    return root


# ----------------------------------------------------------------------------------------------
# Results


@dataclass
class LMResults:
    """Frames of one experiment: per-generation metrics, per-sequence perplexities, examples."""

    metrics: pd.DataFrame
    sequences: pd.DataFrame
    zero_shot: float
    prompt: str
    variant: str


def run_experiment(run, progress: bool = True) -> LMResults:
    """Every chain of the run's settings (computed or loaded from the per-generation cache).

    With ``run.force`` the chains and the zero-shot score are recomputed; the tokenizer and the
    pre-trained model stay cached (delete ``results/05_opt125m_wikitext2`` to redo them).
    """
    chains = [(policy, epochs, replicate) for policy, epochs in run.settings.settings_list()
              for replicate in range(run.settings.n_runs)]
    if run.force:
        for folder in [chain_dir(run, *chain) for chain in chains] + [zero_shot_dir(run)]:
            shutil.rmtree(folder, ignore_errors=True)
    ctx = prepare(run, progress)
    metric_rows, sequence_rows = [], []
    for policy, epochs, replicate in chains:
        root = run_chain(ctx, run, policy, epochs, replicate)
        keys = {"setting": setting_label(policy, epochs), "policy": policy_label(policy), "epochs": epochs,
                "run": replicate}
        for g in range(run.settings.n_generations + 1):
            folder = root / f"gen_{g:02d}"
            row = {**keys, "generation": g, **json.loads((folder / "metrics.json").read_text())}
            if (folder / "sampling.json").exists():
                row.update(json.loads((folder / "sampling.json").read_text()))
            metric_rows.append(row)
            sequence_rows.append(pd.DataFrame({**keys, "generation": g, "ppl": np.load(folder / "sequence_ppl.npy")}))
    metrics = pd.DataFrame(metric_rows).drop(columns=["valid_history"])
    return LMResults(metrics, pd.concat(sequence_rows, ignore_index=True), ctx.zero_shot,
                     ctx.decode(ctx.prompt), ctx.variant)


def perplexity_table(results: LMResults) -> pd.DataFrame:
    """Test perplexity per setting and generation: mean and std over runs."""
    grouped = results.metrics.groupby(["setting", "generation"])["test_ppl"]
    return grouped.agg(["mean", "std", "count"]).round(2).unstack("setting")


def ngram_table(results: LMResults) -> pd.DataFrame:
    """Mean n-gram statistics of each generation's training data, per setting."""
    columns = [c for c in results.metrics.columns if c.startswith(("distinct_", "repeat_"))]
    return results.metrics.groupby(["setting", "generation"])[columns].mean().round(3)


def examples_table(results: LMResults, replicate: int = 0) -> pd.DataFrame:
    """Each model's continuation of the example prompt (first run), one row per generation."""
    frame = results.metrics[results.metrics["run"] == replicate]
    return frame.pivot(index="generation", columns="setting", values="example")


def paper_comparison(results: LMResults, reference: pd.DataFrame) -> pd.DataFrame:
    """Our numbers next to the paper's (rows of data/reference.csv for the OPT-125m experiment)."""
    ref = reference[reference["experiment"] == "opt125m"].set_index("setting")["value"]
    m = results.metrics.groupby(["setting", "generation"])["test_ppl"].mean()
    first = results.metrics["setting"].iloc[0]
    rows = [("zero-shot test perplexity (pre-trained model)", ref.get("zero-shot pre-trained model"),
             results.zero_shot),
            ("model 0 test perplexity (fine-tuned on real data)", ref.get("model 0 fine-tuned on real WikiText-2"),
             m[first].loc[0])]
    for setting, label in (("replace", "5 epochs, no original data (Fig. 1b)"),
                           ("keep_real", "10 epochs, 10% original data (Fig. 1c)")):
        matches = [k for k in m.index.levels[0] if k.startswith(setting)]
        if matches:
            curve = m[matches[0]]
            rows.append((f"test perplexity range over generations, {label}", ref.get(label),
                         f"{curve.min():.1f}-{curve.max():.1f}"))
    frame = pd.DataFrame(rows, columns=["quantity", "paper", "this run"])
    frame["this run"] = [f"{v:.1f}" if isinstance(v, float) else v for v in frame["this run"]]
    return frame


# ----------------------------------------------------------------------------------------------
# Figures


def _settings_axes(results: LMResults, height: float = 3.2) -> tuple[plt.Figure, np.ndarray, list[str]]:
    settings = list(dict.fromkeys(results.metrics["setting"]))
    fig, axes = plt.subplots(1, len(settings), figsize=(4.6 * len(settings), height), squeeze=False,
                             sharex=True, sharey=True)
    return fig, axes[0], settings


def plot_test_perplexity(results: LMResults) -> plt.Figure:
    """Test perplexity over generations, one panel per setting (mean +- std over runs, runs as thin lines)."""
    fig, axes, settings = _settings_axes(results)
    for ax, setting in zip(axes, settings):
        frame = results.metrics[results.metrics["setting"] == setting]
        for _, chain in frame.groupby("run"):
            ax.plot(chain["generation"], chain["test_ppl"], color="0.7", lw=0.8)
        stats = frame.groupby("generation")["test_ppl"].agg(["mean", "std"]).fillna(0.0)
        ax.errorbar(stats.index, stats["mean"], yerr=stats["std"], marker="o", capsize=3, label="mean ± std")
        ax.axhline(results.zero_shot, ls="--", color="C3", lw=1, label="pre-trained (zero-shot)")
        ax.set(title=setting, xlabel="generation", ylabel="test perplexity")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_sequence_histograms(results: LMResults, generations: Sequence[int]) -> plt.Figure:
    """Histograms (log x, log y) of the perplexity, under model 0, of each generation's training sequences;
    each histogram shows the fraction of that generation's sequences per bin."""
    fig, axes, settings = _settings_axes(results)
    seq = results.sequences
    n_bins = int(np.clip(3 * np.sqrt(seq.groupby(["setting", "generation"]).size().median()), 10, 60))
    bins = np.geomspace(max(seq["ppl"].min(), 1.0) * 0.9, seq["ppl"].max() * 1.1, n_bins)
    palette = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(generations)))
    for ax, setting in zip(axes, settings):
        for color, g in zip(palette, generations):
            values = seq[(seq["setting"] == setting) & (seq["generation"] == g)]["ppl"]
            if len(values):
                ax.hist(values, bins=bins, histtype="step", lw=1.4, color=color,
                        weights=np.full(len(values), 1 / len(values)), label=f"generation {g}")
        ax.set(xscale="log", yscale="log", title=setting, xlabel="perplexity of training sequence under model 0",
               ylabel="fraction of sequences")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_ngrams(results: LMResults) -> plt.Figure:
    """Distinct-n (corpus diversity) and within-sequence repeated n-grams of each generation's data."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    m = results.metrics.groupby(["setting", "generation"]).mean(numeric_only=True).reset_index()
    for i, setting in enumerate(dict.fromkeys(m["setting"])):
        frame = m[m["setting"] == setting]
        for n, style in ((1, ":"), (2, "--"), (4, "-")):
            axes[0].plot(frame["generation"], frame[f"distinct_{n}"], style, color=f"C{i}", label=f"{setting}, n={n}")
            axes[1].plot(frame["generation"], frame[f"repeat_{n}"], style, color=f"C{i}")
    axes[0].set(xlabel="generation", ylabel="distinct n-grams / all n-grams", title="diversity of training data",
                yscale="log")
    axes[1].set(xlabel="generation", ylabel="n-grams repeated within a sequence", title="repetition")
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


#: Why a profile may differ from the paper's settings, per setting (shown by :func:`differences_from_paper`).
WHY_DIFFERENT = {
    "model_name": "facebook/opt-125m cannot be downloaded here (no hub access) and 10 fine-tunings of 125M "
                  "parameters do not fit 2 CPU cores; a small OPTForCausalLM (same class and code path) "
                  "pre-trained here stands in for it",
    "vocab_size": "a BPE tokenizer trained on the training split: the softmax over OPT's 50k tokens "
                  "would make training and beam search ~3x slower",
    "d_model": "model size scaled down to fit the CPU budget",
    "n_layers": "model size scaled down to fit the CPU budget",
    "n_heads": "model size scaled down to fit the CPU budget",
    "ffn_dim": "model size scaled down to fit the CPU budget",
    "pretrain_blocks": "the stand-in model is pre-trained here on training blocks not used for fine-tuning "
                       "(OPT-125m was pre-trained by Meta on 180B tokens)",
    "pretrain_epochs": "pre-training of the stand-in model",
    "pretrain_lr": "pre-training of the stand-in model",
    "data_variant": "only the raw validation and test splits are available offline; the tokenized "
                    "WikiText-2 (rare words as <unk>) has all three splits",
    "text_limit": "smoke profile only: a prefix of each split",
    "n_train_blocks": "a random subset of the training blocks, so that regenerating the training set "
                      "with 5-beam search fits the CPU budget",
    "n_valid_blocks": "a random subset of the validation blocks (checkpoint selection) for speed",
    "n_test_blocks": "a random subset of the test blocks for speed (the same subset for every model)",
    "lr": "a small model with few optimiser steps per epoch needs a larger learning rate to move at all",
    "batch_size": "few training blocks: a smaller batch gives several optimiser steps per epoch",
    "policies": "smoke profile only",
    "epochs": "smoke profile only",
    "n_generations": "fewer generations to fit the budget",
    "n_runs": "one run fits the budget (the paper: 5)",
    "gen_batch_size": "prompts per beam-search batch: a speed setting, no effect on the result",
    "histogram_generations": "generations that exist in this profile",
    "keep_all_models": "the paper profile keeps only model 0 and the latest model (disk space: 0.5 GB each)",
    "threads": "CPU threads: a speed setting (1 on a shared 2-core machine: torch slows down many-fold when its threads compete for cores)",
    "num_beams": "smoke profile only", "new_tokens": "smoke profile only", "block_size": "smoke profile only",
}


def differences_from_paper(settings: LMSettings) -> pd.DataFrame:
    """Every setting whose value differs from the paper profile's, with the reason."""
    from .profiles import load_settings

    paper = load_settings("05_opt125m_wikitext2", "paper")
    rows = [(name, getattr(paper, name), getattr(settings, name), WHY_DIFFERENT.get(name, ""))
            for name in paper.__dataclass_fields__ if getattr(paper, name) != getattr(settings, name)]
    return pd.DataFrame(rows, columns=["setting", "paper", "this run", "why"])
