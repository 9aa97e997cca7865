"""Prompt features for routing: common-prefix stripping and TF-IDF.

RouterBench's ARC-Challenge and Winogrande prompts all start with the same few-shot
prefix (about 1,700 and 1,270 characters here). Left in, it dominates every feature
(and fills the 256 tokens a sentence encoder reads), so :class:`CommonPrefixStripper`
learns the prefix each data set's *training* prompts share and removes it.

Sentence embeddings come from :mod:`orchestai.envs.embeddings` (an optional extra).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any


class CommonPrefixStripper:
    """Removes, per data set, the prefix that all of its training prompts share."""

    def __init__(self, min_length: int = 20) -> None:
        self.min_length = min_length
        self.prefixes: dict[str, str] = {}

    def fit(self, texts: Sequence[str], datasets: Sequence[str]) -> CommonPrefixStripper:
        """Learn each data set's common prefix (kept only when at least ``min_length`` characters)."""
        for dataset in dict.fromkeys(datasets):
            members = [t for t, d in zip(texts, datasets, strict=True) if d == dataset]
            prefix = os.path.commonprefix(members) if len(members) > 1 else ""
            self.prefixes[dataset] = prefix if len(prefix) >= self.min_length else ""
        return self

    def transform(self, texts: Sequence[str], datasets: Sequence[str]) -> list[str]:
        """The texts without their data set's prefix (texts that do not start with it are kept whole)."""
        stripped = []
        for text, dataset in zip(texts, datasets, strict=True):
            prefix = self.prefixes.get(dataset, "")
            stripped.append(text[len(prefix) :] if prefix and text.startswith(prefix) else text)
        return stripped


def tfidf_features(train_texts: Sequence[str], other_texts: Sequence[str]) -> tuple[Any, Any]:
    """TF-IDF vectors (sparse) of training texts and of other texts, with the vocabulary of the training texts."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=1)
    return vectorizer.fit_transform(train_texts), vectorizer.transform(other_texts)
