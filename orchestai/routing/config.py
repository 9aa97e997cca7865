"""Routing-report configuration (``orchestai/configs/routing.yaml``); every key is also a flag."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestai.configuration import require
from orchestai.envs.routerbench_data import ROUTERBENCH_DIR, SPLIT_SEED, TEST_FRACTION
from orchestai.paths import CONFIG_DIR

DEFAULT_ROUTING_CONFIG = CONFIG_DIR / "routing.yaml"


@dataclass(frozen=True)
class RoutingConfig:
    """What ``python -m orchestai.evaluate --env orchestai/RouterBench-v0`` compares, and how."""

    data_dir: str = ROUTERBENCH_DIR
    test_dir: str | None = None
    test_fraction: float = TEST_FRACTION
    split_seed: int = SPLIT_SEED
    reference_model: str = "gpt-4-1106-preview"
    knn_k: int = 40
    embeddings: str = "auto"
    cache_dir: str = "runs/routing/cache"
    ppo_cost_weights: list[float] = field(
        default_factory=lambda: [0.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0]
    )
    ppo_timesteps: int = 30_000
    ppo_n_envs: int = 4
    ppo_n_steps: int = 256
    ppo_batch_size: int = 256
    ppo_n_epochs: int = 4
    ppo_learning_rate: float = 1e-3
    ppo_ent_coef: float = 0.01
    ppo_init: str | None = None
    ppo_prompt_features: str = "auto"
    outcome_model: str | None = None
    conditioned_ppo_timesteps: int = 60_000
    conditioned_cost_weight_range: list[float] = field(default_factory=lambda: [1.0, 100_000.0])
    conditioned_learning_rate: float = 1e-4
    conditioned_utility_temperature: float = 0.02
    seed: int = 0
    num_threads: int = 1
    out_dir: str = "runs/routing"

    def ppo_settings(self) -> dict[str, Any]:
        """The PPO settings every router of the report shares (one answer per episode: no discounting)."""
        return {
            "n_steps": self.ppo_n_steps,
            "batch_size": self.ppo_batch_size,
            "n_epochs": self.ppo_n_epochs,
            "gamma": 1.0,
            "ent_coef": self.ppo_ent_coef,
            "seed": self.seed,
        }

    def validate(self) -> None:
        """Check value ranges (raises ``ValueError("field: problem")``)."""
        require(0 < self.test_fraction < 1, "test_fraction", "must be within (0, 1)")
        require(self.knn_k >= 1, "knn_k", "must be >= 1")
        require(self.embeddings in ("auto", "yes", "no"), "embeddings", "must be auto, yes or no")
        require(all(w >= 0 for w in self.ppo_cost_weights), "ppo_cost_weights", "must be >= 0")
        require(self.ppo_timesteps >= 0, "ppo_timesteps", "must be >= 0 (0: no PPO router)")
        require(self.ppo_n_envs >= 1 and self.ppo_n_steps >= 1, "ppo_n_envs", "ppo_n_envs and ppo_n_steps must be >= 1")
        require(self.ppo_batch_size >= 1 and self.ppo_n_epochs >= 1, "ppo_batch_size", "must be >= 1")
        require(self.ppo_learning_rate > 0, "ppo_learning_rate", "must be > 0")
        require(self.num_threads >= 1, "num_threads", "must be >= 1")
        require(
            self.conditioned_ppo_timesteps >= 0,
            "conditioned_ppo_timesteps",
            "must be >= 0 (0: no cost-conditioned PPO router)",
        )
        low_high = self.conditioned_cost_weight_range
        require(
            len(low_high) == 2 and 0 < low_high[0] <= low_high[1],
            "conditioned_cost_weight_range",
            "must be [low, high] with 0 < low <= high",
        )
        require(self.conditioned_learning_rate > 0, "conditioned_learning_rate", "must be > 0")
        require(self.conditioned_utility_temperature > 0, "conditioned_utility_temperature", "must be > 0")
        require(
            self.ppo_prompt_features in ("auto", "words", "minilm"), "ppo_prompt_features", "must be auto, words or minilm"
        )
