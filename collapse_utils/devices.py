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


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """The reduced precision of ``device``: bf16 on GPUs with bf16 tensor cores (compute capability 8.0 and
    up: A100, H100, RTX 30xx), fp16 on older ones (T4, V100: torch's autocast accepts bf16 there, as
    ``is_bf16_supported`` counts emulation, but they have no bf16 tensor cores), None (float32) on the CPU."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.get_device_capability(device)[0] >= 8 else torch.float16


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """Autocast to :func:`autocast_dtype` on CUDA, a no-op context on the CPU."""
    dtype = autocast_dtype(device)
    return torch.autocast("cuda", dtype=dtype) if dtype is not None else contextlib.nullcontext()


def grad_scaler(device: torch.device) -> torch.amp.GradScaler:
    """Loss scaling for training under fp16 autocast (fp16's narrow range underflows small gradients); a
    pass-through scaler under bf16 or float32."""
    return torch.amp.GradScaler("cuda", enabled=autocast_dtype(device) == torch.float16)
