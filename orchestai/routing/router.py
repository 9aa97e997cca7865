"""`Router`: a saved outcome model that routes prompts, one at a time or in batch.

``Router.load(path)`` reads a checkpoint of ``python -m orchestai.phase1.outcomes`` (or
the routing report's saved routers, the cost-conditioned PPO one included: its policy
is an outcome model fine-tuned by PPO). ``route(prompts, cost_weight=...)`` sends each
prompt to ``argmax P(success) - cost_weight * expected cost`` and returns, with the
choice, every model's predicted success and cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from orchestai.envs.routerbench_data import (
    SPLIT_SEED,
    TEST_FRACTION,
    RouterBenchData,
    RouterBenchPrompt,
    load_routerbench_folder,
    train_test_prompts,
)
from orchestai.errors import UserInputError
from orchestai.outcomes.features import PromptFeaturizer
from orchestai.outcomes.model import OutcomeModel, read_outcome_model
from orchestai.outcomes.training import embedder
from orchestai.routing.routers import EstimateRouter
from orchestai.routing.table import OutcomeTable
from orchestai.routing.threshold import call_share, cost_fraction, describe_choices, smallest_cost_weight


@dataclass(frozen=True)
class RouteDecision:
    """Where one prompt goes, and why: every model's predicted success probability and cost (USD)."""

    model: str
    dataset: str
    cost_weight: float
    success: dict[str, float]
    cost: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "model": self.model,
            "dataset": self.dataset,
            "cost_weight": self.cost_weight,
            "success": self.success,
            "cost": self.cost,
        }


class Router:
    """An outcome model with what it needs to read prompts (their data set, prefix, embedding)."""

    def __init__(
        self, model: OutcomeModel, featurizer: PromptFeaturizer, metadata: dict[str, Any], cache_dir: str | Path | None = None
    ) -> None:
        self.model, self.featurizer, self.metadata = model.eval(), featurizer, metadata
        self.embed = embedder(cache_dir)

    @classmethod
    def load(cls, path: str | Path, cache_dir: str | Path | None = None) -> Router:
        """A router from an outcome-model checkpoint (``cache_dir``: where prompt embeddings are cached; none by default)."""
        model, featurizer, metadata = read_outcome_model(path)
        return cls(model, featurizer, metadata, cache_dir)

    @property
    def models(self) -> list[str]:
        """The models it routes to, in the checkpoint's order."""
        return list(self.model.spec.models)

    @torch.no_grad()
    def estimates(
        self, prompts: Sequence[str], datasets: Sequence[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """``(P(success), expected cost, data sets)`` of every prompt: ``(n, M)``, ``(n, M)`` and the data set each was read as."""
        names = list(datasets) if datasets is not None else self.featurizer.infer_datasets(prompts, self.embed)
        features, onehot, tokens = self.featurizer.inputs(prompts, names, self.embed)
        success = self.model.success_probability(features).numpy().astype(np.float64)
        cost = self.model.expected_cost(onehot, tokens).numpy().astype(np.float64)
        return success, cost, names

    def estimate_router(self, name: str, prompts: Sequence[RouterBenchPrompt]) -> EstimateRouter:
        """The table router of these recorded prompts (their data sets known), for cost–quality curves."""
        success, cost, _ = self.estimates([p.prompt for p in prompts], [p.dataset for p in prompts])
        return EstimateRouter(name, success, cost)

    def route(self, prompts: Sequence[str], cost_weight: float, datasets: Sequence[str] | None = None) -> list[RouteDecision]:
        """The model for each prompt at ``cost_weight`` (1/USD; ties go to the cheaper model)."""
        if not (np.isfinite(cost_weight) and cost_weight >= 0):
            raise UserInputError(f"cost_weight must be a finite number >= 0, got {cost_weight}")
        success, cost, names = self.estimates(prompts, datasets)
        choices = EstimateRouter("router", success, cost).choose(cost_weight)
        models = self.models
        return [
            RouteDecision(
                models[int(c)],
                names[k],
                float(cost_weight),
                dict(zip(models, success[k].tolist(), strict=True)),
                dict(zip(models, cost[k].tolist(), strict=True)),
            )
            for k, c in enumerate(choices)
        ]


@dataclass(frozen=True)
class Calibration:
    """The cost weight picked on the training prompts, and what it gives there and on the held-out prompts."""

    cost_weight: float
    target: str
    train: dict[str, float]
    test: dict[str, float]


def calibrate_router(
    router: Router,
    data: RouterBenchData,
    reference_model: str,
    target_cost_fraction: float | None = None,
    target_strong_share: float | None = None,
    strong_model: str | None = None,
) -> Calibration:
    """Pick the cost weight on the router's training split for one target; report it on both splits.

    ``target_cost_fraction``: mean cost at most this fraction of ``reference_model``'s;
    ``target_strong_share``: at most this share of prompts sent to ``strong_model``
    (default the reference model). The split (or test folder) is the one stored with the router.
    """
    if (target_cost_fraction is None) == (target_strong_share is None):
        raise UserInputError("give exactly one of target_cost_fraction and target_strong_share")
    split = router.metadata.get("split", {})
    test_data = load_routerbench_folder(split["test_dir"]) if split.get("test_dir") else None
    fraction, seed = float(split.get("test_fraction", TEST_FRACTION)), int(split.get("split_seed", SPLIT_SEED))
    train, test = train_test_prompts(data, fraction, seed, test_data)
    tables = {name: OutcomeTable.of(prompts, router.models) for name, prompts in (("train", train), ("test", test))}
    routers = {"train": router.estimate_router("train", train), "test": router.estimate_router("test", test)}
    reference = tables["train"].model_index(reference_model)
    strong = tables["train"].model_index(strong_model or reference_model)
    if target_cost_fraction is not None:
        if not target_cost_fraction > 0:
            raise UserInputError(f"target_cost_fraction must be > 0, got {target_cost_fraction}")
        measure, target = cost_fraction(tables["train"], reference), target_cost_fraction
        described = f"mean cost <= {target_cost_fraction:g} x {reference_model}'s"
    else:
        assert target_strong_share is not None
        if not 0 <= target_strong_share <= 1:
            raise UserInputError(f"target_strong_share must be within [0, 1], got {target_strong_share}")
        measure, target = call_share(strong), target_strong_share
        described = f"at most {target_strong_share:.0%} of prompts to {router.models[strong]}"
    weight = smallest_cost_weight(routers["train"], measure, target)
    stats = {name: describe_choices(tables[name], routers[name].choose(weight), reference, strong) for name in tables}
    return Calibration(weight, described, stats["train"], stats["test"])
