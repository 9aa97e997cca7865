"""The nearest-neighbour planner: the plan of the most similar training instruction (bag-of-words cosine)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from orchestai.data.examples import PlanExample
from orchestai.data.tokenizer import HashTokenizer
from orchestai.planner.metrics import Plan


class NearestNeighbourPlanner:
    """Returns the training plan whose instruction's word counts have the highest cosine similarity."""

    def __init__(self, train: Sequence[PlanExample]) -> None:
        if not train:
            raise ValueError("the nearest-neighbour planner needs at least one training example")
        self._tokenizer = HashTokenizer()
        self._plans = [Plan(e.types, e.parents, e.models) for e in train]
        counts = [Counter(self._tokenizer.words(e.instruction)) for e in train]
        self._vocabulary = {w: i for i, w in enumerate(sorted({w for c in counts for w in c}))}
        self._matrix = self._vectors(counts)

    def _vectors(self, counts: Sequence[Counter]) -> np.ndarray:
        matrix = np.zeros((len(counts), len(self._vocabulary)), dtype=np.float32)
        for row, count in enumerate(counts):
            for word, c in count.items():
                column = self._vocabulary.get(word)
                if column is not None:
                    matrix[row, column] = c
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.maximum(norms, 1e-12)

    def plan(self, instructions: Sequence[str]) -> list[Plan]:
        """The neighbour's plan for each instruction."""
        queries = self._vectors([Counter(self._tokenizer.words(text)) for text in instructions])
        best = (queries @ self._matrix.T).argmax(axis=1)
        return [self._plans[i] for i in best]
