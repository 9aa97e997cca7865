"""The hashed-word tokenizer: its fast path gives exactly the tokens of the reference pattern."""

from __future__ import annotations

import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestai.envs.tokenizer import FIRST_WORD_ID, SENTENCE_END_ID, TRUNCATED_ID, HashTokenizer, tokenize

# the tokenizer's definition, as a pattern: a lower-cased word, or a sentence end
# (".", "!" or "?" followed by white space or the end of the text)
REFERENCE = re.compile(r"[a-z0-9]+|[.!?](?=\s|$)")
ALPHABET = "abcXYZ019 .!?,:;()-'\t\n\x0b\x1c\x00é"


def _normalised(tokens: list[str]) -> list[str]:
    return ["<end>" if t in (".", "!", "?", "\x00") else t for t in tokens]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=60))
def test_fast_path_matches_the_reference_pattern(text: str):
    assert _normalised(tokenize(text)) == _normalised(REFERENCE.findall(text.lower()))


def test_encode_hashes_words_marks_sentence_ends_pads_and_truncates():
    tokenizer = HashTokenizer(vocab_size=100, max_tokens=8)
    ids = tokenizer.encode("Step 1: Summarise it. Stop!")
    words = ["step", "1", "summarise", "it"]
    assert ids[:4].tolist() == [tokenizer.token_id(w) for w in words]
    assert all(FIRST_WORD_ID <= i < 100 for i in ids[:4])
    assert ids[4:].tolist() == [SENTENCE_END_ID, tokenizer.token_id("stop"), SENTENCE_END_ID, 0]  # then padding
    long = tokenizer.encode("one two three four five six seven eight nine")
    assert long.dtype == np.int64 and long[-1] == TRUNCATED_ID and long[6] == tokenizer.token_id("seven")
