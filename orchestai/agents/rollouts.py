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


def reweighted_return(
    info: dict[str, Any], success_bonus: float, cost_weight: float, latency_weight: float, invalid_action_penalty: float
) -> float:
    """An episode's return under other reward weights, from its final ``info`` (success, cost, makespan, invalid calls)."""
    return (
        success_bonus * float(info["success"])
        - cost_weight * float(info["cost_usd"])
        - latency_weight * float(info["makespan_s"])
        - invalid_action_penalty * int(info["invalid_calls"])
    )


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


def summary_rows(results: list[PolicyResult]) -> list[dict[str, float | str]]:
    """One row per policy: means with 95% CI half-widths, and return as a fraction of the oracle's."""
    oracle = next((r for r in results if r.name == "oracle"), None)
    oracle_return = float(oracle.returns.mean()) if oracle is not None else None
    rows = []
    for r in results:
        row: dict[str, float | str] = {"policy": r.name, "episodes": len(r.returns)}
        for key, values in (
            ("success", r.successes),
            ("cost_usd", r.costs),
            ("makespan_s", r.makespans),
            ("return", r.returns),
        ):
            mean, half = PolicyResult.mean_ci95(values)
            row[key], row[f"{key}_ci95"] = mean, half
        if oracle_return:
            row["fraction_of_oracle_return"] = float(r.returns.mean()) / oracle_return
        rows.append(row)
    return rows


def format_rows(rows: list[dict[str, float | str]]) -> str:
    """A plain-text table of the summary rows."""
    header = f"{'policy':<24}{'success':>16}{'cost (USD)':>20}{'makespan (s)':>18}{'return':>18}{'/ oracle':>10}"
    lines = [header, "-" * len(header)]
    for row in rows:
        cells = [
            f"{float(row[k]):{f}} ± {float(row[k + '_ci95']):{f}}"
            for k, f in (("success", ".3f"), ("cost_usd", ".4f"), ("makespan_s", ".1f"), ("return", ".3f"))
        ]
        fraction = f"{float(row['fraction_of_oracle_return']):.3f}" if "fraction_of_oracle_return" in row else "-"
        lines.append(f"{row['policy']!s:<24}{cells[0]:>16}{cells[1]:>20}{cells[2]:>18}{cells[3]:>18}{fraction:>10}")
    return "\n".join(lines)
