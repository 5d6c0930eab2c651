"""Helpers for the model-collapse replication notebooks (Shumailov et al., Nature 2024)."""

from .recursion import Accumulate, KeepReal, Replace, parse_policy, policy_label, run_generations
from .run import Run, start_run

__all__ = ["Accumulate", "KeepReal", "Replace", "Run", "parse_policy", "policy_label",
           "run_generations", "start_run"]
__version__ = "0.1.0"
