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

# A faster path for plain ASCII text (what the env renders on every reset), giving the
# same tokens as _TOKEN: whitespace becomes spaces, sentence ends become a marker, every
# other character that is not a letter or digit a space, then str.split().
_END_MARKER = "\x00"
_SENTENCE_END = re.compile(r"[.!?](?= |$)")  # after _TO_SPACE, all white space is " "
_ASCII_WHITESPACE = "".join(chr(c) for c in range(128) if chr(c).isspace())
_TO_SPACE = str.maketrans(_ASCII_WHITESPACE, " " * len(_ASCII_WHITESPACE))
_KEPT = set("abcdefghijklmnopqrstuvwxyz0123456789 " + _END_MARKER)
_SEPARATORS = str.maketrans({chr(c): " " for c in range(128) if chr(c) not in _KEPT})


@dataclass(frozen=True)
class HashTokenizer:
    """Turns text into a fixed-length array of hashed word ids."""

    vocab_size: int = 4096
    max_tokens: int = 768

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
        tokens = tokenize(text)
        ids = list(map(cache.get, tokens))
        if None in ids:  # words seen for the first time
            for k, token in enumerate(tokens):
                if ids[k] is None:
                    is_end = token in ".!?" or token == _END_MARKER
                    ids[k] = cache[token] = SENTENCE_END_ID if is_end else _hashed_id(token, self.vocab_size)
        if len(ids) > self.max_tokens:
            ids = ids[: self.max_tokens - 1] + [TRUNCATED_ID]
        out = np.zeros(self.max_tokens, dtype=np.int64)
        out[: len(ids)] = ids  # type: ignore[assignment]  # every None was replaced above
        return out


def tokenize(text: str) -> list[str]:
    """The tokens of ``text``: lower-cased words, and sentence ends (``.``, ``!``, ``?`` or a marker standing for one)."""
    lower = text.lower()
    if not lower.isascii() or _END_MARKER in lower:
        return _TOKEN.findall(lower)
    marked = _SENTENCE_END.sub(f" {_END_MARKER} ", lower.translate(_TO_SPACE))
    return marked.translate(_SEPARATORS).split()


@lru_cache(maxsize=1 << 16)
def _hashed_id(word: str, vocab_size: int) -> int:
    # cached: instructions reuse a small vocabulary, and crc32 + encode dominate encode()
    return FIRST_WORD_ID + zlib.crc32(word.encode("utf-8")) % (vocab_size - FIRST_WORD_ID)
