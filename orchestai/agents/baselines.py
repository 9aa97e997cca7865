"""Baseline routing policies: the references every learned policy is compared with.

Each policy is a plain class with ``act(obs, env) -> int``: ``obs`` is the env's
observation and ``env`` the (possibly wrapped) :class:`WorkflowEnv`, read through
``env.unwrapped`` for the current decision's context. Only :class:`OraclePolicy`
reads the hidden per-episode state (true difficulty and model conditions).
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from orchestai.envs.spaces import ModelHealth
from orchestai.envs.workflow_env import WorkflowEnv
from orchestai.world.simulator import NORMAL


class RoutingPolicy(Protocol):
    """What every baseline (and wrapped learned policy) offers."""

    name: str

    def act(self, obs: dict[str, np.ndarray], env: Any) -> int:
        """Choose the worker model for the env's current subtask."""
        ...


def _unwrapped(env: Any) -> WorkflowEnv:
    return env.unwrapped


def best_capable(scores: Any, mask: np.ndarray) -> int:
    """The capable model with the highest score (the first capable one when every capable score is -inf).

    ``np.argmax`` over all models would return model 0 when every score is -inf (e.g.
    every capable model is down), an invalid call that the env penalises.
    """
    capable = np.flatnonzero(mask)
    return int(capable[int(np.argmax(np.asarray(scores, dtype=np.float64)[capable]))])


def expected_utility(env: WorkflowEnv, p_success: float, cost_usd: float, latency_s: float, retries_left: int) -> float:
    """Score of calling a model: expected reward spent until the subtask succeeds, minus the bonus at risk.

    Treating attempts as independent, getting a success takes ``1 / p`` calls on
    average; the workflow is lost if all ``retries_left + 1`` remaining attempts fail.
    """
    if p_success <= 0.0:
        return -math.inf
    spend = (env.cost_weight * cost_usd + env.latency_weight * latency_s) / p_success
    return -spend - env.success_bonus * (1.0 - p_success) ** (retries_left + 1)


class RandomPolicy:
    """Uniformly random among the models able to do the current subtask."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, obs: dict[str, np.ndarray], env: Any) -> int:
        """A random capable model."""
        return int(self.rng.choice(np.flatnonzero(obs["action_mask"])))


class FixedModelPolicy:
    """Always the same model (a single-model router)."""

    def __init__(self, model: int, name: str) -> None:
        self.model, self.name = model, name

    def act(self, obs: dict[str, np.ndarray], env: Any) -> int:
        """The fixed model."""
        return self.model


class CheapestPolicy:
    """The capable model with the lowest expected cost for this subtask."""

    name = "cheapest"

    def act(self, obs: dict[str, np.ndarray], env: Any) -> int:
        """Cheapest capable model."""
        e = _unwrapped(env)
        ctx = e.current_context()
        costs = [
            e.world.expected_cost(m, ctx["input_tokens"], ctx["output_tokens"])
            if e.world.capable[ctx["task_type"], m]
            else math.inf
            for m in range(e.world.n_models)
        ]
        return int(np.argmin(costs))


class StrongestPolicy:
    """The capable model with the highest published skill on the subtask's type."""

    name = "strongest"

    def act(self, obs: dict[str, np.ndarray], env: Any) -> int:
        """Most skilled capable model."""
        e = _unwrapped(env)
        return int(np.argmax(e.world.skill[e.current_context()["task_type"]]))


class BestExpectedUtilityPolicy:
    """Greedy: the model with the best expected utility from the world's published numbers.

    Uses the type's mean difficulty, the observed input quality and normal conditions;
    it ignores execution feedback within the episode.
    """

    name = "best_expected_utility"

    def scores(self, env: WorkflowEnv) -> list[float]:
        """Expected utility of every model for the current subtask."""
        ctx = env.current_context()
        t = ctx["task_type"]
        offset = float(env.world.difficulty_offset[t])
        return [
            expected_utility(
                env,
                env.simulator.success_probability(t, m, offset, ctx["input_quality"], NORMAL),
                env.world.expected_cost(m, ctx["input_tokens"], ctx["output_tokens"]),
                env.simulator.expected_latency_s(m, ctx["output_tokens"], NORMAL),
                ctx["retries_left"],
            )
            for m in range(env.world.n_models)
        ]

    def act(self, obs: dict[str, np.ndarray], env: Any) -> int:
        """Best expected-utility model."""
        return best_capable(self.scores(_unwrapped(env)), obs["action_mask"].astype(bool))


class ErrorAwareExpectedUtilityPolicy(BestExpectedUtilityPolicy):
    """Best expected utility, avoiding every model that has answered with an error in this episode.

    The simplest use of execution feedback: an error (a time-out with no charge) means
    the model is down for the episode, so it is not called again while another capable
    model is left. A hand-written reference for what PPO can learn from feedback.
    """

    name = "error_aware_expected_utility"

    def act(self, obs: dict[str, np.ndarray], env: Any) -> int:
        """Best expected-utility model among those that have not errored."""
        scores = np.array(self.scores(_unwrapped(env)))
        errored = obs["model_health"][:, ModelHealth.ERROR_RATE] > 0
        if np.any(obs["action_mask"].astype(bool) & ~errored):
            scores[errored] = -np.inf
        return best_capable(scores, obs["action_mask"].astype(bool))


class OraclePolicy:
    """Greedy expected utility computed with the hidden truth: this subtask's difficulty and every model's condition."""

    name = "oracle"

    def act(self, obs: dict[str, np.ndarray], env: Any) -> int:
        """Best model given full information."""
        e = _unwrapped(env)
        ctx, hidden = e.current_context(), e.hidden_state()
        t = ctx["task_type"]
        scores = []
        for m in range(e.world.n_models):
            condition = hidden["conditions"][m]
            scores.append(
                expected_utility(
                    e,
                    e.simulator.success_probability(t, m, hidden["difficulty"], ctx["input_quality"], condition),
                    e.simulator.cost_usd(m, ctx["input_tokens"], ctx["output_tokens"], condition),
                    e.simulator.expected_latency_s(m, ctx["output_tokens"], condition),
                    ctx["retries_left"],
                )
            )
        return best_capable(scores, obs["action_mask"].astype(bool))


class ExpertBehaviourPolicy:
    """The behaviour policy that writes the synthetic logs.

    The best-expected-utility choice, except that (1) a model that has failed twice in
    this episode, or once with a time-out, is treated as down and avoided, and (2) with
    probability ``epsilon`` a random capable model is explored instead.
    """

    name = "expert"

    def __init__(self, epsilon: float = 0.1, seed: int = 0) -> None:
        self.epsilon = epsilon
        self.rng = np.random.default_rng(seed)
        self._greedy = BestExpectedUtilityPolicy()

    def act(self, obs: dict[str, np.ndarray], env: Any) -> int:
        """Feedback-aware expected-utility choice with exploration."""
        e = _unwrapped(env)
        mask = obs["action_mask"].astype(bool)
        if self.rng.random() < self.epsilon:
            return int(self.rng.choice(np.flatnonzero(mask)))
        scores = np.array(self._greedy.scores(e))
        health = obs["model_health"]
        calls, failure_rate = health[:, ModelHealth.CALLS] * 10, health[:, ModelHealth.FAILURE_RATE]
        suspected_down = (calls >= 2) & (failure_rate >= 1.0) | (failure_rate >= 1.0) & (
            health[:, ModelHealth.LATENCY_RATIO] > 2.0
        )
        if np.any(mask & ~suspected_down):
            scores[suspected_down] = -np.inf
        return best_capable(scores, obs["action_mask"].astype(bool))


BASELINES: dict[str, type] = {
    "random": RandomPolicy,
    "cheapest": CheapestPolicy,
    "strongest": StrongestPolicy,
    "best_expected_utility": BestExpectedUtilityPolicy,
    "error_aware_expected_utility": ErrorAwareExpectedUtilityPolicy,
    "oracle": OraclePolicy,
}
