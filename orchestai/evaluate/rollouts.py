"""Run a routing policy on seeded episodes and summarise what it achieved."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from orchestai.envs import WORKFLOW_ENV_ID


@dataclass(frozen=True)
class PolicyResult:
    """Per-episode outcomes of one policy (same seeds for every policy)."""

    name: str
    returns: np.ndarray
    successes: np.ndarray
    costs: np.ndarray
    makespans: np.ndarray

    @staticmethod
    def mean_ci95(values: np.ndarray) -> tuple[float, float]:
        """Mean and the half-width of its normal-approximation 95% confidence interval."""
        mean = float(np.mean(values))
        half = 1.96 * float(np.std(values, ddof=1)) / math.sqrt(len(values)) if len(values) > 1 else math.inf
        return mean, half


def evaluate_policy(policy: Any, episodes: int, seed: int = 0, env: gym.Env | None = None, **env_kwargs: Any) -> PolicyResult:
    """Run ``policy.act(obs, env)`` for ``episodes`` episodes seeded ``seed, seed + 1, ...``."""
    env = env or gym.make(WORKFLOW_ENV_ID, **env_kwargs)
    returns, successes, costs, makespans = [], [], [], []
    for episode in range(episodes):
        obs, info = env.reset(seed=seed + episode)
        total = 0.0
        while True:
            obs, reward, terminated, truncated, info = env.step(policy.act(obs, env))
            total += float(reward)
            if terminated or truncated:
                break
        returns.append(total)
        successes.append(float(info["success"]))
        costs.append(info["cost_usd"])
        makespans.append(info["makespan_s"])
    return PolicyResult(policy.name, np.array(returns), np.array(successes), np.array(costs), np.array(makespans))
