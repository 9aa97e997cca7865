"""A deterministic, vocabulary-free tokenizer: hashed, normalised words.

Words are lower-cased runs of letters and digits; each maps to
``3 + crc32(word) % (vocab_size - 3)``. Id 0 is padding, id 1 marks truncation and id 2
ends a sentence (``.``, ``!`` or ``?`` followed by white space or the end of the text),
so that models can tell which sentence a word belongs to.
Because nothing is learnt, the env's observations, the planner and every checkpoint
agree on token ids given only ``vocab_size`` and ``max_tokens``.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

PAD_ID = 0
TRUNCATED_ID = 1
SENTENCE_END_ID = 2
FIRST_WORD_ID = 3
_WORD = re.compile(r"[a-z0-9]+")
# word -> id, per vocabulary size: instructions reuse a small vocabulary
_WORD_IDS: dict[int, dict[str, int]] = {}
_TOKEN = re.compile(r"[a-z0-9]+|[.!?](?=\s|$)")  # a word, or a sentence end


@dataclass(frozen=True)
class HashTokenizer:
    """Turns text into a fixed-length array of hashed word ids."""

    vocab_size: int = 4096
    max_tokens: int = 512

    def words(self, text: str) -> list[str]:
        """The normalised words of ``text``."""
        return _WORD.findall(text.lower())

    def token_id(self, word: str) -> int:
        """The id of one normalised word."""
        return _hashed_id(word, self.vocab_size)

    def encode(self, text: str) -> np.ndarray:
        """Token ids of ``text``, padded with 0 to ``max_tokens`` (int64).

        Text longer than ``max_tokens`` words keeps its first ``max_tokens - 1`` words
        followed by the truncation id.
        """
        cache = _WORD_IDS.setdefault(self.vocab_size, {})
        ids = []
        for token in _TOKEN.findall(text.lower()):
            token_id = cache.get(token)
            if token_id is None:
                token_id = cache[token] = SENTENCE_END_ID if token in ".!?" else _hashed_id(token, self.vocab_size)
            ids.append(token_id)
        if len(ids) > self.max_tokens:
            ids = ids[: self.max_tokens - 1] + [TRUNCATED_ID]
        out = np.zeros(self.max_tokens, dtype=np.int64)
        out[: len(ids)] = ids
        return out


@lru_cache(maxsize=1 << 16)
def _hashed_id(word: str, vocab_size: int) -> int:
    # cached: instructions reuse a small vocabulary, and crc32 + encode dominate encode()
    return FIRST_WORD_ID + zlib.crc32(word.encode("utf-8")) % (vocab_size - FIRST_WORD_ID)
