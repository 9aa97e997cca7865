"""`OutcomeTable`: the recorded score and cost of every model on a set of prompts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from orchestai.envs.routerbench_data import RouterBenchPrompt
from orchestai.errors import UserInputError


@dataclass(frozen=True)
class OutcomeTable:
    """``scores[n, m]`` (0/1) and ``costs[n, m]`` (USD) of model ``m`` on prompt ``n``."""

    models: tuple[str, ...]
    datasets: tuple[str, ...]
    scores: np.ndarray
    costs: np.ndarray

    @classmethod
    def of(cls, prompts: Sequence[RouterBenchPrompt], models: Sequence[str]) -> OutcomeTable:
        """The table of ``prompts`` with the models in the given order."""
        scores = np.array([[p.scores[m] for m in models] for p in prompts], dtype=np.float64).reshape(-1, len(models))
        costs = np.array([[p.costs[m] for m in models] for p in prompts], dtype=np.float64).reshape(-1, len(models))
        return cls(tuple(models), tuple(p.dataset for p in prompts), scores, costs)

    @property
    def n_prompts(self) -> int:
        """Number of prompts (rows)."""
        return len(self.datasets)

    def rows_of(self, dataset: str) -> np.ndarray:
        """Row indices of one data set."""
        return np.flatnonzero(np.array(self.datasets) == dataset)

    def subset(self, rows: np.ndarray) -> OutcomeTable:
        """The table restricted to some rows."""
        return OutcomeTable(self.models, tuple(self.datasets[r] for r in rows), self.scores[rows], self.costs[rows])

    def point(self, choices: np.ndarray, rows: np.ndarray | None = None) -> tuple[float, float]:
        """Mean cost and mean quality when prompt ``n`` goes to model ``choices[n]``."""
        choices = np.asarray(choices, dtype=np.int64)
        index = np.arange(self.n_prompts) if rows is None else np.asarray(rows)
        picked = choices[index]
        return float(self.costs[index, picked].mean()), float(self.scores[index, picked].mean())

    def model_index(self, name: str) -> int:
        """Column of a model, with a clear error for unknown names."""
        if name not in self.models:
            raise UserInputError(f"unknown model {name!r}; the table has {list(self.models)}")
        return self.models.index(name)
