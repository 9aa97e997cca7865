"""Table-based routers: the oracle, k-nearest neighbours, the per-data-set best model.

Each router estimates, for every prompt and model, a quality ``q`` and a cost ``c``
and sends the prompt to ``argmax(q - cost_weight * c)`` (ties go to the cheaper model).
Sweeping ``cost_weight`` traces the router's cost–quality curve. The oracle's
estimates are the recorded outcomes themselves; single models and RouterBench's
*Zero router* (their convex hull) need no estimates at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from orchestai.routing.table import OutcomeTable

DEFAULT_COST_WEIGHTS: tuple[float, ...] = (0.0, *np.round(np.logspace(0, 6, 49), 6).tolist())


class EstimateRouter:
    """Routes by estimated quality and cost per (prompt, model)."""

    def __init__(self, name: str, quality: np.ndarray, cost: np.ndarray) -> None:
        if quality.shape != cost.shape or quality.ndim != 2:
            raise ValueError(f"quality {quality.shape} and cost {cost.shape} must be equal (prompts, models) arrays")
        self.name, self.quality, self.cost = name, quality, cost

    def choose(self, cost_weight: float) -> np.ndarray:
        """The model index chosen for each prompt at this cost weight."""
        # a tie-break far below any real difference in utility: the cheaper model wins
        utility = self.quality - cost_weight * self.cost - 1e-9 * self.cost / max(float(self.cost.max()), 1e-30)
        return utility.argmax(axis=1)

    def curve(self, table: OutcomeTable, cost_weights: Sequence[float], rows: np.ndarray | None = None) -> np.ndarray:
        """``(cost, quality)`` of the router on ``table`` (optionally only some rows), one point per cost weight."""
        return np.array([table.point(self.choose(w), rows) for w in cost_weights])


def oracle_router(table: OutcomeTable) -> EstimateRouter:
    """The best model per prompt: knows every recorded outcome (an upper bound, not a router)."""
    return EstimateRouter("oracle", table.scores, table.costs)


def dataset_best_router(train: OutcomeTable, test_datasets: Sequence[str]) -> EstimateRouter:
    """Per data set, every model's mean training score and cost: one model per data set at each cost weight."""
    n, m = len(test_datasets), len(train.models)
    quality, cost = np.zeros((n, m)), np.zeros((n, m))
    for dataset in set(test_datasets):
        rows = train.rows_of(dataset)
        if len(rows) == 0:
            raise ValueError(f"data set {dataset!r} has no training prompts")
        target = np.array(test_datasets) == dataset
        quality[target] = train.scores[rows].mean(0)
        cost[target] = train.costs[rows].mean(0)
    return EstimateRouter("dataset-best", quality, cost)


def knn_router(name: str, train_features: Any, train: OutcomeTable, test_features: Any, k: int) -> EstimateRouter:
    """k nearest training prompts by cosine similarity: their mean score and cost per model."""
    if not 1 <= k <= train.n_prompts:
        raise ValueError(f"k must be within [1, {train.n_prompts}], got {k}")
    neighbours = nearest_neighbours(train_features, test_features, k)
    return EstimateRouter(name, train.scores[neighbours].mean(1), train.costs[neighbours].mean(1))


def nearest_neighbours(train_features: Any, test_features: Any, k: int) -> np.ndarray:
    """Indices ``(n_test, k)`` of the ``k`` most cosine-similar training rows (dense or sparse features)."""
    from sklearn.metrics.pairwise import cosine_similarity

    similarity = cosine_similarity(test_features, train_features)
    return np.argsort(-similarity, axis=1, kind="stable")[:, :k]


def single_model_points(table: OutcomeTable, rows: np.ndarray | None = None) -> dict[str, tuple[float, float]]:
    """``(mean cost, mean quality)`` of every model used alone."""
    return {name: table.point(np.full(table.n_prompts, m), rows) for m, name in enumerate(table.models)}
