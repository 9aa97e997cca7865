"""Threshold calibration: the cost weight at which a router meets a target, found on training prompts.

RouteLLM's users pick a router's threshold by the share of calls they are willing to
send to the strong model; here the knob is the cost weight ``λ`` of ``argmax
P(success) - λ·cost``. For every prompt the chosen model's cost can only fall as ``λ``
grows, so the mean cost and the share of calls to the most expensive model are
non-increasing in ``λ``; a bisection on ``log λ`` finds the smallest (most
quality-seeking) ``λ`` whose measure is at most the target.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from orchestai.errors import UserInputError
from orchestai.routing.routers import EstimateRouter
from orchestai.routing.table import OutcomeTable

LOWEST_COST_WEIGHT = 1e-3
HIGHEST_COST_WEIGHT = 1e9


def smallest_cost_weight(
    router: EstimateRouter, measure: Callable[[np.ndarray], float], target: float, steps: int = 60
) -> float:
    """The smallest cost weight whose choices give ``measure(choices) <= target`` (0 when λ = 0 already does)."""
    if measure(router.choose(0.0)) <= target:
        return 0.0
    if measure(router.choose(HIGHEST_COST_WEIGHT)) > target:
        raise UserInputError(f"no cost weight up to {HIGHEST_COST_WEIGHT:g} brings the measure down to {target:g}")
    low, high = math.log(LOWEST_COST_WEIGHT), math.log(HIGHEST_COST_WEIGHT)
    for _ in range(steps):
        middle = (low + high) / 2.0
        if measure(router.choose(math.exp(middle))) <= target:
            high = middle
        else:
            low = middle
    return math.exp(high)


def cost_fraction(table: OutcomeTable, reference: int) -> Callable[[np.ndarray], float]:
    """Mean recorded cost of the choices as a fraction of the reference model's mean cost on the same prompts."""
    reference_cost = float(table.costs[:, reference].mean())
    return lambda choices: table.point(choices)[0] / reference_cost


def call_share(model: int) -> Callable[[np.ndarray], float]:
    """The share of prompts sent to one model."""
    return lambda choices: float(np.mean(np.asarray(choices) == model))


def describe_choices(table: OutcomeTable, choices: np.ndarray, reference: int, strong: int) -> dict[str, float]:
    """Cost (USD and as a fraction of the reference's), quality and the strong model's share of calls."""
    cost, quality = table.point(choices)
    return {
        "cost": cost,
        "cost_fraction": cost / float(table.costs[:, reference].mean()),
        "quality": quality,
        "reference_quality": float(table.scores[:, reference].mean()),
        "strong_share": call_share(strong)(choices),
    }
