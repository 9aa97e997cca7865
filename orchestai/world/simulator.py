"""The execution simulator: the one place where subtask outcomes are sampled.

Both :class:`orchestai.envs.WorkflowEnv` and the log generator execute subtasks through
:class:`ExecutionSimulator`. Randomness comes from a numpy ``Generator``; callers that
need speed pre-draw the noise for many attempts with :meth:`draw_noise` and turn each
row into an outcome with :meth:`outcome`, which is a pure function of its arguments.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from orchestai.world.world import World

NORMAL, OVERLOADED, DOWN = 0, 1, 2
CONDITION_NAMES = ("normal", "overloaded", "down")


class AttemptOutcome(NamedTuple):
    """Result of calling one model on one subtask once."""

    success: bool
    cost_usd: float
    latency_s: float


class ExecutionSimulator:
    """Samples success, cost and latency of a subtask executed by a worker model.

    Success probability is ``sigmoid(logit(skill) - difficulty)`` scaled down by poor
    input quality (``1 - sensitivity * (1 - input_quality)``); a model that is down
    always fails. Latency is a log-normal time to first token plus output tokens times a
    log-normal per-token time, multiplied when the model is overloaded. Cost is the
    token count times the model's prices, paid even when the call fails (a down model
    answers with an error after ``outage_latency_s`` and charges nothing).
    """

    NOISE_WIDTH = 3  # per attempt: uniform for success, two standard normals for latency

    def __init__(self, world: World) -> None:
        self.world = world
        conditions = world.config.conditions
        self._conditions = conditions
        with np.errstate(divide="ignore"):
            logit = np.where(world.capable, np.log(world.skill) - np.log1p(-world.skill), -np.inf)
        self._logit_skill: list[list[float]] = logit.tolist()
        self._skill: list[list[float]] = world.skill.tolist()
        self._price_in: list[float] = world.price_input.tolist()
        self._price_out: list[float] = world.price_output.tolist()
        self._ttft_median: list[float] = world.ttft_median.tolist()
        self._ttft_sigma: list[float] = world.ttft_log_sigma.tolist()
        self._tok_median: list[float] = world.per_token_median.tolist()
        self._tok_sigma: list[float] = world.per_token_log_sigma.tolist()
        self._latency_factor = (1.0, conditions.overload_latency_factor, 1.0)
        self._overload_threshold = conditions.overload_probability
        self._outage_threshold = conditions.overload_probability + conditions.outage_probability
        self._expected_ttft = [float(world.expected_latency(m, 0)) for m in range(world.n_models)]
        self._expected_per_token = [
            float(world.expected_latency(m, 1)) - self._expected_ttft[m] for m in range(world.n_models)
        ]

    # -- what is published (no hidden variation) -----------------------------------------
    def published_success(self) -> np.ndarray:
        """``(T, M)`` success probabilities at each type's mean difficulty, perfect inputs, normal conditions (0 if incapable)."""
        world = self.world
        return np.array(
            [
                [self.success_probability(t, m, float(world.difficulty_offset[t])) for m in range(world.n_models)]
                for t in range(world.n_types)
            ]
        )

    def published_estimates(
        self, types: Sequence[int], input_tokens: Sequence[int], output_tokens: Sequence[int]
    ) -> np.ndarray:
        """``(n, M, 3)`` for n subtasks: each model's published success probability, cost (USD) and expected latency (s)."""
        outputs = np.asarray(output_tokens, dtype=np.float64)[:, None]
        cost = np.asarray(input_tokens, dtype=np.float64)[:, None] * self.world.price_input + outputs * self.world.price_output
        latency = np.asarray(self._expected_ttft) + outputs * np.asarray(self._expected_per_token)
        success = self.published_success()[np.asarray(types, dtype=np.int64)]
        return np.stack([success, cost, latency], axis=-1)

    # -- hidden per-episode variation -------------------------------------------------
    def draw_conditions(self, rng: np.random.Generator) -> np.ndarray:
        """Draw each model's condition for one episode (NORMAL, OVERLOADED or DOWN)."""
        u = rng.random(self.world.n_models)
        return np.where(u < self._overload_threshold, OVERLOADED, np.where(u < self._outage_threshold, DOWN, NORMAL))

    def draw_difficulties(self, rng: np.random.Generator, type_indices: np.ndarray) -> np.ndarray:
        """Draw a hidden difficulty (in logits) for each subtask, centred on its type's offset."""
        offsets = self.world.difficulty_offset[np.asarray(type_indices, dtype=np.int64)]
        return offsets + self._conditions.difficulty_std * rng.standard_normal(len(offsets))

    def draw_noise(self, rng: np.random.Generator, n_attempts: int) -> np.ndarray:
        """Pre-draw the randomness of ``n_attempts`` calls: shape ``(n_attempts, 3)``."""
        noise = rng.standard_normal((n_attempts, self.NOISE_WIDTH))
        noise[:, 0] = rng.random(n_attempts)
        return noise

    # -- deterministic parts -----------------------------------------------------------
    def success_probability(
        self, task_type: int, model: int, difficulty: float, input_quality: float = 1.0, condition: int = NORMAL
    ) -> float:
        """Probability that ``model`` succeeds on a subtask of ``task_type`` in this condition."""
        logit = self._logit_skill[task_type][model]
        if condition == DOWN or logit == -math.inf:
            return 0.0
        z = logit - difficulty
        # numerically safe sigmoid
        p = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
        return p * (1.0 - self._conditions.input_quality_sensitivity * (1.0 - input_quality))

    def output_quality(self, task_type: int, model: int) -> float:
        """Quality of a successful result, passed on to dependent subtasks as input quality."""
        return self._skill[task_type][model]

    def cost_usd(self, model: int, input_tokens: int, output_tokens: int, condition: int = NORMAL) -> float:
        """Dollar cost of one call (nothing when the model is down)."""
        if condition == DOWN:
            return 0.0
        return self._price_in[model] * input_tokens + self._price_out[model] * output_tokens

    def latency_s(self, model: int, output_tokens: int, condition: int, z_ttft: float, z_token: float) -> float:
        """Seconds one call takes, given two standard-normal draws."""
        if condition == DOWN:
            return self._conditions.outage_latency_s
        ttft = self._ttft_median[model] * math.exp(self._ttft_sigma[model] * z_ttft)
        per_token = self._tok_median[model] * math.exp(self._tok_sigma[model] * z_token)
        return (ttft + output_tokens * per_token) * self._latency_factor[condition]

    def expected_latency_s(self, model: int, output_tokens: int, condition: int = NORMAL) -> float:
        """Mean seconds of one call in the given condition."""
        if condition == DOWN:
            return self._conditions.outage_latency_s
        return (self._expected_ttft[model] + output_tokens * self._expected_per_token[model]) * self._latency_factor[condition]

    def outcome(
        self,
        task_type: int,
        model: int,
        input_tokens: int,
        output_tokens: int,
        difficulty: float,
        input_quality: float,
        condition: int,
        noise: tuple[float, float, float] | list[float] | np.ndarray,
    ) -> AttemptOutcome:
        """The outcome of one call given its pre-drawn noise row (a pure function)."""
        p = self.success_probability(task_type, model, difficulty, input_quality, condition)
        return AttemptOutcome(
            success=bool(noise[0] < p),
            cost_usd=self.cost_usd(model, input_tokens, output_tokens, condition),
            latency_s=self.latency_s(model, output_tokens, condition, noise[1], noise[2]),
        )

    def execute(
        self,
        rng: np.random.Generator,
        task_type: int,
        model: int,
        input_tokens: int,
        output_tokens: int,
        difficulty: float = 0.0,
        input_quality: float = 1.0,
        condition: int = NORMAL,
    ) -> AttemptOutcome:
        """Sample the outcome of one call with fresh randomness from ``rng``."""
        noise = self.draw_noise(rng, 1)[0].tolist()
        return self.outcome(task_type, model, input_tokens, output_tokens, difficulty, input_quality, condition, noise)
