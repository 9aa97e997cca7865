"""Nearest-neighbour planners: the plan of the most similar training instruction.

Similarity is the cosine of bag-of-words counts (:class:`NearestNeighbourPlanner`) or
of any instruction vectors, e.g. sentence embeddings (:class:`VectorNeighbourPlanner`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from orchestai.data.examples import PlanExample
from orchestai.envs.tokenizer import HashTokenizer
from orchestai.planner.metrics import Plan


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row scaled to unit length (zero rows stay zero)."""
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


class VectorNeighbourPlanner:
    """Returns the plan of the training instruction whose vector has the highest cosine similarity."""

    def __init__(self, train: Sequence[PlanExample], embed: Callable[[Sequence[str]], np.ndarray]) -> None:
        if not train:
            raise ValueError("the nearest-neighbour planner needs at least one training example")
        self._embed = embed
        self._plans = [Plan(e.types, e.parents, e.models) for e in train]
        self._matrix = unit_rows(np.asarray(embed([e.instruction for e in train]), dtype=np.float32))

    def plan(self, instructions: Sequence[str]) -> list[Plan]:
        """The neighbour's plan for each instruction."""
        queries = unit_rows(np.asarray(self._embed(list(instructions)), dtype=np.float32))
        best = (queries @ self._matrix.T).argmax(axis=1)
        return [self._plans[i] for i in best]


class NearestNeighbourPlanner(VectorNeighbourPlanner):
    """Bag-of-words neighbour: word counts (the tokenizer's normalised words) over the training vocabulary."""

    def __init__(self, train: Sequence[PlanExample]) -> None:
        self._tokenizer = HashTokenizer()
        words = {w for e in train for w in self._tokenizer.words(e.instruction)}
        self._vocabulary = {w: i for i, w in enumerate(sorted(words))}
        super().__init__(train, self._counts)

    def _counts(self, texts: Sequence[str]) -> np.ndarray:
        matrix = np.zeros((len(texts), len(self._vocabulary)), dtype=np.float32)
        for row, text in enumerate(texts):
            for word, count in Counter(self._tokenizer.words(text)).items():
                column = self._vocabulary.get(word)
                if column is not None:
                    matrix[row, column] = count
        return matrix
