"""The PPO router: ``PlannerPolicy`` trained with PPO in ``orchestai/RouterBench-v0``, one model per cost weight."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from orchestai.envs import ROUTERBENCH_ENV_ID
from orchestai.envs.routerbench_data import RouterBenchData
from orchestai.routing.config import RoutingConfig


def routing_env_kwargs(
    config: RoutingConfig, data: RouterBenchData, split: str, cost_weight: float, test_data: RouterBenchData | None = None
) -> dict[str, Any]:
    """``gymnasium.make`` kwargs of the replay env for this report (the data is passed, not re-read)."""
    return {
        "test_data": test_data,
        "prompt_features": ppo_prompt_features(config),
        "cache_dir": config.cache_dir,
        "data": data,
        "split": split,
        "test_fraction": config.test_fraction,
        "split_seed": config.split_seed,
        "cost_weight": cost_weight,
    }


def ppo_prompt_features(config: RoutingConfig) -> str:
    """``minilm`` when configured, or when ``auto`` and the embeddings extra is installed; else ``words``."""
    from orchestai.envs.embeddings import embeddings_available

    if config.ppo_prompt_features == "auto":
        return "minilm" if embeddings_available() else "words"
    return config.ppo_prompt_features


def train_ppo_router(
    config: RoutingConfig, data: RouterBenchData, cost_weight: float, test_data: RouterBenchData | None = None
) -> Any:
    """PPO with ``PlannerPolicy`` on the training prompts at one cost weight (from ``ppo_init`` when set)."""
    from stable_baselines3.common.env_util import make_vec_env

    from orchestai.phase2.build import build_model
    from orchestai.phase2.config import Phase2Config

    torch.set_num_threads(config.num_threads)
    venv = make_vec_env(
        ROUTERBENCH_ENV_ID,
        n_envs=config.ppo_n_envs,
        seed=config.seed,
        env_kwargs=routing_env_kwargs(config, data, "train", cost_weight, test_data),
    )
    settings = Phase2Config(
        init=config.ppo_init,
        n_envs=config.ppo_n_envs,
        learning_rate=config.ppo_learning_rate,
        lr_schedule="constant",
        **config.ppo_settings(),
    )
    # with sentence embeddings the router reads the prompt only through them: the hashed
    # words let PPO memorise the training prompts (measured: lower held-out quality)
    model = build_model(settings, venv, venv.get_attr("world", [0])[0], read_words=ppo_prompt_features(config) == "words")
    model.learn(config.ppo_timesteps)
    venv.close()
    return model


def greedy_choices(
    model: Any, config: RoutingConfig, data: RouterBenchData, cost_weight: float, test_data: RouterBenchData | None = None
) -> np.ndarray:
    """The model each held-out prompt is sent to, by replaying every test prompt once (greedy policy)."""
    import gymnasium as gym

    env = gym.make(ROUTERBENCH_ENV_ID, **routing_env_kwargs(config, data, "test", cost_weight, test_data))
    choices = np.zeros(env.get_wrapper_attr("n_workflows"), dtype=np.int64)
    for index in range(len(choices)):
        obs, _ = env.reset(seed=index, options={"workflow_index": index})
        action, _ = model.predict(obs, deterministic=True)
        choices[index] = int(action)
    env.close()
    return choices
