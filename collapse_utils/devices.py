"""Torch device and thread choice, shared by the VAE and language-model experiments.

The device is chosen once per notebook (CUDA when available) and passed on; nothing calls
``.cuda()`` directly. On a CPU the number of torch threads is set explicitly from a setting.
"""

from __future__ import annotations

import contextlib
import os

import torch


def pick_device(name: str = "auto", threads: int = 1) -> torch.device:
    """Set torch's CPU threads and return the device: CUDA if available under 'auto' (under torchrun, the
    GPU of the process's ``LOCAL_RANK``)."""
    if name not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {name!r}")
    torch.set_num_threads(threads)
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for but no CUDA device is available; use 'auto' or 'cpu'")
    if name == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count())


def half_dtype(device: torch.device) -> torch.dtype | None:
    """The reduced precision of mixed-precision work on ``device``: bf16 on GPUs that have it, fp16 on older
    ones (a T4), None on the CPU (float32 throughout)."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """Autocast to :func:`half_dtype` on CUDA, a no-op context on the CPU."""
    dtype = half_dtype(device)
    return torch.autocast("cuda", dtype=dtype) if dtype is not None else contextlib.nullcontext()


def grad_scaler(device: torch.device) -> torch.amp.GradScaler:
    """Loss scaling for fp16 training (fp16 gradients underflow without it); disabled otherwise."""
    return torch.amp.GradScaler("cuda", enabled=half_dtype(device) == torch.float16)
