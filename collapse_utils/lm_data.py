"""Text data for the language-model experiment: tokenizers, 64-token blocks, block sets, n-gram statistics.

WikiText-2 splits are read through :mod:`collapse_utils.data`; each split is tokenised line by
line, concatenated and cut into non-overlapping blocks (the remainder is dropped), as in the
paper. A :class:`Blocks` set is what one generation trains on: token ids plus a mask saying
which blocks are real WikiText-2 and which were generated.
"""

from __future__ import annotations

import io

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from . import data

SPECIAL_TOKENS = ("<pad>", "</s>")


def check_block_size(block_size: int) -> int:
    """``block_size`` if it is an integer >= 2 (a block must hold an input and a next token)."""
    if isinstance(block_size, bool) or int(block_size) != block_size or block_size < 2:
        raise ValueError(f"block_size must be an integer >= 2 (an input token and its next token), got {block_size!r}")
    return int(block_size)


def resolve_variant(variant: str) -> str:
    """``'raw'`` or ``'tokens'``; ``'auto'`` picks raw when the raw training split is available locally."""
    if variant == "auto":
        return "raw" if data.wikitext2_available("train", "raw") else "tokens"
    if variant not in ("raw", "tokens"):
        raise ValueError(f"data_variant must be 'auto', 'raw' or 'tokens', got {variant!r}")
    return variant


def train_tokenizer(text: str, vocab_size: int, folder: Path):
    """Train a byte-level BPE tokenizer with ``vocab_size`` entries on ``text``; save it to ``folder``.

    Returns a ``transformers`` fast tokenizer with ``<pad>`` (id 0) and ``</s>`` (id 1, used as
    BOS and EOS), the same interface as the OPT tokenizer.
    """
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(text.splitlines(keepends=True), vocab_size=vocab_size, min_frequency=2,
                            special_tokens=list(SPECIAL_TOKENS), show_progress=False)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, pad_token="<pad>",
                                        bos_token="</s>", eos_token="</s>")
    tokenizer.save_pretrained(str(folder))
    return tokenizer


def load_tokenizer(folder: Path | str):
    """A tokenizer saved by :func:`train_tokenizer` or a hub/local name (``AutoTokenizer``)."""
    from transformers import AutoTokenizer

    from .lm_model import check_model_name, unloadable

    name = check_model_name(folder, marker="tokenizer_config.json")
    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError) as error:
        raise unloadable(name, error) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return tokenizer


#: A WikiText heading line: `` = Title = `` (an article), `` = = Section = = `` and deeper.
HEADING = re.compile(r"^ *(= )+.*( =)+ *$")
#: The heading line that opens an article.
ARTICLE = re.compile(r"^ *= [^=].* = *$")


def split_articles(text: str) -> list[str]:
    """``text`` cut before every article heading (`` = Title = ``); text before the first one is dropped."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if ARTICLE.match(line)]
    return ["".join(lines[a:b]) for a, b in zip(starts, starts[1:] + [len(lines)])]


def drop_headings(text: str) -> str:
    """``text`` without its heading lines (`` = … = `` of every level)."""
    return "".join(line for line in text.splitlines(keepends=True) if not HEADING.match(line))


#: WikiText's tokenised typography and its ordinary form (``plain`` pre-training text).
_TYPOGRAPHY = ((" @-@ ", "-"), (" @,@ ", ","), (" @.@ ", "."), (" , ", ", "), (" . ", ". "), (" ; ", "; "),
               (" : ", ": "), (" 's ", "'s "), (" n't ", "n't "), ("( ", "("), (" )", ")"), (" ! ", "! "),
               (" ? ", "? "), (' " ', ' "'))


def plain_text(text: str) -> str:
    """``text`` without heading lines and in ordinary typography (``word, word-word.`` instead of
    ``word , word @-@ word .``): the same kind of articles in another style."""
    text = drop_headings(text)
    for tokenised, plain in _TYPOGRAPHY:
        text = text.replace(tokenised, plain)
    return text


def encode_text(tokenizer, text: str, rows: bool = False, batch_lines: int = 2000) -> np.ndarray:
    """Token ids of ``text`` tokenised line by line (newlines kept) and concatenated.

    ``rows=False``: blank lines are skipped and no special tokens are added. ``rows=True``, as the
    authors' code did with the Hugging Face dataset: every line (row), blank ones included, goes
    through the tokenizer with its special tokens (OPT's adds ``</s>`` at the start of each row).
    """
    lines = [line for line in text.splitlines(keepends=True) if rows or line.strip()]
    chunks = []
    for start in range(0, len(lines), batch_lines):
        encoded = tokenizer(lines[start:start + batch_lines], add_special_tokens=rows)["input_ids"]
        chunks.extend(np.asarray(ids, dtype=np.int64) for ids in encoded)
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)


def make_blocks(ids: np.ndarray, block_size: int) -> np.ndarray:
    """Non-overlapping blocks of ``block_size`` consecutive ids; the remainder is dropped."""
    block_size = check_block_size(block_size)
    n_blocks = len(ids) // block_size
    return np.asarray(ids[:n_blocks * block_size], dtype=np.int64).reshape(n_blocks, block_size)


def example_prompt(tokenizer, text: str, phrase: str, block_size: int) -> np.ndarray:
    """The first ``block_size`` token ids of ``text`` from where ``phrase`` first occurs (with its leading space)."""
    position = text.find(phrase)
    if not phrase or position < 0:
        raise ValueError(f"example phrase {phrase!r} does not occur in the training split")
    position -= int(position > 0 and text[position - 1] == " ")
    ids = encode_text(tokenizer, text[position:position + 40 * block_size])
    if len(ids) < block_size:
        raise ValueError(f"the text after example phrase {phrase!r} is shorter than {block_size} tokens")
    return ids[:block_size]


@dataclass
class Blocks:
    """A training set: ``ids`` (n, block) and ``writer`` (n,): -1 for an original block, else the
    generation of the model that wrote it."""

    ids: np.ndarray
    writer: np.ndarray

    @classmethod
    def original(cls, ids: np.ndarray) -> "Blocks":
        return cls(np.asarray(ids), np.full(len(ids), -1, dtype=np.int16))

    @classmethod
    def written(cls, ids: np.ndarray, generation: int) -> "Blocks":
        return cls(np.asarray(ids), np.full(len(ids), generation, dtype=np.int16))

    @property
    def real(self) -> np.ndarray:
        """Which blocks are original."""
        return self.writer < 0

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, index: np.ndarray) -> "Blocks":
        return Blocks(self.ids[index], self.writer[index])

    def written_by(self, generation: int) -> "Blocks":
        """The blocks that the model of ``generation`` wrote."""
        return self.take(self.writer == generation)

    @staticmethod
    def concat(parts: Sequence["Blocks"]) -> "Blocks":
        return Blocks(np.concatenate([p.ids for p in parts]), np.concatenate([p.writer for p in parts]))

    def to_bytes(self) -> bytes:
        """Compressed ``.npz`` content (ids as the smallest unsigned type that fits)."""
        dtype = np.uint16 if self.ids.size == 0 or self.ids.max() < 2**16 else np.uint32
        buffer = io.BytesIO()
        np.savez_compressed(buffer, ids=self.ids.astype(dtype), writer=self.writer.astype(np.int16))
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, content: bytes) -> "Blocks":
        with np.load(io.BytesIO(content)) as stored:
            return cls(stored["ids"].astype(np.int64), stored["writer"].astype(np.int16))


def ngram_stats(ids: np.ndarray, orders: Sequence[int] = (1, 2, 3, 4)) -> dict[str, float]:
    """Diversity of a set of token sequences (rows of ``ids``).

    ``distinct_n``: distinct n-grams over all n-grams in the set (corpus-level diversity);
    ``repeat_n``: mean over sequences of the fraction of n-grams that already occurred earlier
    in the same sequence (within-sequence repetition).
    """
    stats: dict[str, float] = {}
    for n in orders:
        if ids.shape[1] < n or len(ids) == 0:
            continue
        grams = np.lib.stride_tricks.sliding_window_view(ids, n, axis=1)  # (rows, positions, n)
        flat = grams.reshape(-1, n)
        stats[f"distinct_{n}"] = len(np.unique(flat, axis=0)) / len(flat)
        stats[f"repeat_{n}"] = float(np.mean([_repeat_fraction(row) for row in grams]))
    if ids.shape[1] >= LOOP[0] and len(ids):
        stats["loop_share"] = loop_share(ids)
    return stats


#: A sequence loops when some 4-gram occurs in it 4 or more times.
LOOP = (4, 4)


def loop_share(ids: np.ndarray, n: int = LOOP[0], times: int = LOOP[1]) -> float:
    """Share of sequences (rows of ``ids``) in which some ``n``-gram occurs ``times`` times or more."""
    grams = np.lib.stride_tricks.sliding_window_view(ids, n, axis=1)
    return float(np.mean([np.unique(row, axis=0, return_counts=True)[1].max() >= times for row in grams]))


def _repeat_fraction(grams: np.ndarray) -> float:
    """Fraction of the n-grams (rows) of one sequence seen earlier in it."""
    _, first = np.unique(grams, axis=0, return_index=True)
    return 1.0 - len(first) / len(grams)
