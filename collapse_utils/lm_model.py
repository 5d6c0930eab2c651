"""Causal language models for the collapse experiment: load or build OPT, train, score, generate.

Plain PyTorch: AdamW with a per-epoch cosine schedule, the checkpoint with the best validation
loss kept; per-sequence perplexity under ``torch.inference_mode``; batched beam search through
``transformers``' ``generate`` with left padding. On a GPU, training and scoring run under bf16
autocast (fp16 with loss scaling on GPUs without bf16, such as a T4) and attention uses SDPA; on a
CPU everything stays float32. The device is chosen once (:func:`collapse_utils.devices.pick_device`)
and passed on.
"""

from __future__ import annotations

import copy
import os
from contextlib import contextmanager, nullcontext
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from .cache import seal_folder
from .devices import autocast, grad_scaler
from .progress import progress_bar

SCRATCH = "scratch"


def scratch_model(vocab_size: int, d_model: int, n_layers: int, n_heads: int, ffn_dim: int,
                  max_positions: int, pad_id: int, eos_id: int, rng: np.random.Generator):
    """A randomly initialised ``OPTForCausalLM`` of the given size (the OPT-125m class and code path)."""
    from transformers import OPTConfig, OPTForCausalLM

    config = OPTConfig(vocab_size=vocab_size, hidden_size=d_model, num_hidden_layers=n_layers,
                       num_attention_heads=n_heads, ffn_dim=ffn_dim, word_embed_proj_dim=d_model,
                       max_position_embeddings=max_positions, pad_token_id=pad_id,
                       bos_token_id=eos_id, eos_token_id=eos_id, dropout=0.1,
                       attn_implementation="sdpa")
    with seeded_torch(rng):
        return OPTForCausalLM(config)


@contextmanager
def seeded_torch(rng: np.random.Generator) -> Iterator[None]:
    """Run a block on torch's global generators seeded from ``rng`` (one draw), restoring them afterwards,
    for the torch code that only draws from them (weight init, dropout, sampling in ``generate``)."""
    with torch.random.fork_rng(devices=range(torch.cuda.device_count())):
        torch.manual_seed(int(rng.integers(2**62)))
        yield


def check_model_name(name: str | Path, marker: str = "config.json") -> str:
    """``name`` unless it looks like a local folder without the file ``marker`` (then a clear ValueError)."""
    text = str(name)
    looks_local = text.startswith(("/", ".", "~")) or Path(text).exists()
    if looks_local and not (Path(text).expanduser() / marker).is_file():
        raise ValueError(f"model folder {text!r} is missing or unreadable (no {marker}). Use a folder "
                         f"written by save_pretrained, a hub name such as 'facebook/opt-125m', or {SCRATCH!r}.")
    return text


def unloadable(name: str | Path, error: Exception) -> ValueError:
    """The error raised when a model or tokenizer ``name`` cannot be loaded."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return ValueError(
        f"could not load model {str(name)!r} ({type(error).__name__}: {first}). Use a hub name such as "
        f"'facebook/opt-125m' (needs the internet), a folder written by save_pretrained, or {SCRATCH!r} "
        f"for a small OPT built from a config.")


def load_model(name: str | Path, device: torch.device):
    """A causal LM from a hub name or a local ``save_pretrained`` folder, moved to ``device``.

    Raises ValueError naming the model and what to use instead when it cannot be loaded.
    """
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    text = check_model_name(name)
    try:
        model = AutoModelForCausalLM.from_pretrained(text, attn_implementation="sdpa")
    except (OSError, ValueError) as error:
        raise unloadable(text, error) from None
    return model.to(device)


def save_model(model, folder: Path, tokenizer=None) -> None:
    """``save_pretrained`` (of the model, and of ``tokenizer`` if given) into a temporary folder, sealed with the sha256 of its files
    (:func:`collapse_utils.cache.folder_intact` checks them), then renamed: the folder appears complete or
    not at all."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    folder.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        model.save_pretrained(str(temp))
        if tokenizer is not None:
            tokenizer.save_pretrained(str(temp))
        seal_folder(temp)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(temp, folder)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def _batches(n: int, batch_size: int, order: np.ndarray | None = None) -> list[np.ndarray]:
    index = np.arange(n) if order is None else order
    return [index[i:i + batch_size] for i in range(0, n, batch_size)]


@torch.inference_mode()
def sequence_nll(model, ids: np.ndarray, device: torch.device, batch_size: int = 64,
                 progress: bool = False) -> np.ndarray:
    """Mean next-token negative log-likelihood (nats) of every row of ``ids``; exp of it is its perplexity."""
    model.eval()
    out = []
    for index in progress_bar(iterable=_batches(len(ids), batch_size), desc="scoring", enabled=progress):
        batch = torch.as_tensor(ids[index], device=device)
        with autocast(device):
            logits = model(input_ids=batch).logits[:, :-1]
        logp = torch.log_softmax(logits.float(), dim=-1)
        token_logp = logp.gather(-1, batch[:, 1:, None]).squeeze(-1)
        out.append((-token_logp.mean(dim=1)).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def perplexity(model, ids: np.ndarray, device: torch.device, batch_size: int = 64) -> float:
    """Perplexity of ``ids`` (equal-length rows): exp of the mean token NLL."""
    return float(np.exp(sequence_nll(model, ids, device, batch_size).mean()))


def train(model, ids: np.ndarray, valid: np.ndarray, epochs: int, lr: float, lr_min: float,
          batch_size: int, device: torch.device, rng: np.random.Generator,
          progress: bool = True, desc: str = "training") -> list[float]:
    """Fine-tune ``model`` on the rows of ``ids`` (labels = inputs) and keep the best-by-validation epoch.

    AdamW at ``lr`` with cosine annealing over the epochs down to ``lr_min`` (stepped per epoch).
    Rows are shuffled each epoch with ``rng``. Returns the validation loss after each epoch;
    on return ``model`` holds the weights of the epoch with the lowest one.
    """
    with seeded_torch(rng):
        return _train(model, ids, valid, epochs, lr, lr_min, batch_size, device, rng, progress, desc)


def _train(model, ids: np.ndarray, valid: np.ndarray, epochs: int, lr: float, lr_min: float,
           batch_size: int, device: torch.device, rng: np.random.Generator, progress: bool, desc: str) -> list[float]:
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs, eta_min=lr_min)
    history, best, scaler = [], None, grad_scaler(device)
    bar = progress_bar(total=epochs * len(_batches(len(ids), batch_size)), desc=desc, enabled=progress)
    for _ in range(epochs):
        model.train()
        for index in _batches(len(ids), batch_size, rng.permutation(len(ids))):
            batch = torch.as_tensor(ids[index], device=device)
            with autocast(device):
                loss = model(input_ids=batch, labels=batch).loss
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            bar.update(1)
        schedule.step()
        history.append(float(sequence_nll(model, valid, device, batch_size).mean()))
        if best is None or history[-1] < min(history[:-1]):
            best = copy.deepcopy(model.state_dict())
    bar.close()
    model.load_state_dict(best)
    return history


def left_pad(prompts: Sequence[np.ndarray], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack prompts of any lengths, padded on the left; returns (ids, attention mask)."""
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt):] = torch.as_tensor(np.asarray(prompt))
        mask[row, width - len(prompt):] = 1
    return ids, mask


DECODINGS = ("beam", "sample")


@torch.inference_mode()
def continue_prompts(model, prompts: Sequence[np.ndarray], new_tokens: int, num_beams: int,
                     repetition_penalty: float, pad_id: int, eos_id: int, device: torch.device,
                     batch_size: int = 32, progress: bool = True, decoding: str = "beam",
                     rng: np.random.Generator | None = None) -> np.ndarray:
    """Exactly ``new_tokens`` tokens continuing each prompt; shape (n, new_tokens).

    ``decoding``: 'beam' (``num_beams`` beams, the paper's setting) or 'sample' (ancestral sampling:
    temperature 1, no top-k/top-p), drawn with a torch generator seeded from ``rng``; both apply
    ``repetition_penalty``, so that the two differ in the search alone.
    """
    if decoding not in DECODINGS:
        raise ValueError(f"decoding must be one of {DECODINGS}, got {decoding!r}")
    sampling = decoding == "sample"
    if sampling and rng is None:
        raise ValueError("decoding='sample' needs a random generator (rng)")
    options = (dict(do_sample=True, num_beams=1, temperature=1.0, top_k=0, top_p=1.0,
                    repetition_penalty=repetition_penalty)
               if sampling else dict(do_sample=False, num_beams=num_beams, repetition_penalty=repetition_penalty,
                                     early_stopping=False))
    model.eval()
    out = []
    for index in progress_bar(iterable=_batches(len(prompts), batch_size), desc="generating", enabled=progress):
        ids, mask = left_pad([prompts[i] for i in index], pad_id)
        with autocast(device), seeded_torch(rng) if sampling else nullcontext():
            result = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device),
                                    max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                                    pad_token_id=pad_id, eos_token_id=eos_id, **options)
        out.append(result[:, ids.shape[1]:].cpu().numpy())
    generated = np.concatenate(out) if out else np.zeros((0, new_tokens), dtype=np.int64)
    if generated.shape[1] != new_tokens:
        raise RuntimeError(f"generation returned {generated.shape[1]} new tokens, expected {new_tokens}")
    return generated.astype(np.int64)
