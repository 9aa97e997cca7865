"""One cost-conditioned PPO router: ``OutcomeRouterPolicy`` started from an outcome model, trained over a range of cost weights.

Every training episode of ``orchestai/RouterBench-v0`` draws its cost weight
log-uniformly from ``conditioned_cost_weight_range`` and shows it in the observation;
the policy's logits are the outcome model's expected utility at that weight, so at
step 0 the policy routes as the outcome model does and one run covers the whole
cost–quality curve. The fine-tuned outcome model is exported in the outcome-model
checkpoint format, so :class:`~orchestai.routing.router.Router` uses it like any other.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from orchestai.envs import ROUTERBENCH_ENV_ID
from orchestai.envs.routerbench_data import RouterBenchData
from orchestai.outcomes.features import PromptFeaturizer
from orchestai.outcomes.model import OutcomeCheckpointError, OutcomeModel, read_outcome_model, save_outcome_model
from orchestai.policies.outcome_policy import OutcomeRouterPolicy
from orchestai.routing.config import RoutingConfig
from orchestai.routing.ppo_router import routing_env_kwargs


def conditioned_env_kwargs(
    config: RoutingConfig, data: RouterBenchData, split: str, test_data: RouterBenchData | None = None
) -> dict[str, Any]:
    """Replay-env kwargs of the cost-conditioned router: sentence embeddings and a cost weight drawn per episode."""
    kwargs = routing_env_kwargs(config, data, split, 1.0, test_data)
    return {**kwargs, "prompt_features": "minilm", "cost_weight_range": tuple(config.conditioned_cost_weight_range)}


def check_split(metadata: dict[str, Any], config: RoutingConfig, path: str | Path) -> None:
    """Refuse an outcome model trained on another split than the report's (it would have seen held-out prompts)."""
    split = metadata.get("split", {})
    stored = (split.get("test_dir"), float(split.get("test_fraction", -1)), int(split.get("split_seed", -1)))
    if stored != (config.test_dir, config.test_fraction, config.split_seed):
        raise OutcomeCheckpointError(
            f"{path}: trained for test_dir={stored[0]}, test_fraction={stored[1]}, split_seed={stored[2]}; "
            f"this report uses test_dir={config.test_dir}, test_fraction={config.test_fraction}, split_seed={config.split_seed}"
        )


def build_conditioned_ppo(
    config: RoutingConfig, data: RouterBenchData, outcome_path: str | Path, test_data: RouterBenchData | None = None
) -> tuple[Any, PromptFeaturizer, dict[str, Any]]:
    """PPO with :class:`OutcomeRouterPolicy` on the training prompts, its outcome model loaded from ``outcome_path`` (``--init``)."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    start, featurizer, metadata = read_outcome_model(outcome_path)
    check_split(metadata, config, outcome_path)
    torch.set_num_threads(config.num_threads)
    venv = make_vec_env(
        ROUTERBENCH_ENV_ID,
        n_envs=config.ppo_n_envs,
        seed=config.seed,
        env_kwargs=conditioned_env_kwargs(config, data, "train", test_data),
    )
    world = venv.get_attr("world", [0])[0]
    if (tuple(world.type_names), tuple(world.model_names)) != (start.spec.datasets, start.spec.models):
        raise OutcomeCheckpointError(
            f"{outcome_path}: data sets {list(start.spec.datasets)} and models {list(start.spec.models)} differ from the replay env's "
            f"{world.type_names} and {world.model_names}"
        )
    # no dropout in the policy: PPO's probability ratios compare rollout-time and update-time logits
    spec = dataclasses.replace(start.spec, input_dropout=0.0, dropout=0.0)
    model = PPO(
        OutcomeRouterPolicy,
        venv,
        policy_kwargs={"outcome_spec": spec.to_mapping(), "utility_temperature": config.conditioned_utility_temperature},
        learning_rate=config.conditioned_learning_rate,
        **config.ppo_settings(),
        device="cpu",
        verbose=0,
    )
    policy: OutcomeRouterPolicy = model.policy  # type: ignore[assignment]
    policy.outcome_model.load_state_dict(start.state_dict())
    return model, featurizer, metadata


def train_conditioned_ppo(
    config: RoutingConfig,
    data: RouterBenchData,
    outcome_path: str | Path,
    out_path: str | Path,
    log: Callable[[str], Any] = print,
    test_data: RouterBenchData | None = None,
) -> tuple[Path, float]:
    """Train the cost-conditioned router for ``conditioned_ppo_timesteps``; saves its fine-tuned outcome model at ``out_path`` (and the PPO zip beside it)."""
    model, featurizer, metadata = build_conditioned_ppo(config, data, outcome_path, test_data)
    started = time.perf_counter()
    model.learn(config.conditioned_ppo_timesteps)
    seconds = time.perf_counter() - started
    model.get_env().close()
    out_path = Path(out_path)
    tuned: OutcomeModel = model.policy.outcome_model  # the policy is an OutcomeRouterPolicy
    info = {
        "source": "ppo",
        "init": str(outcome_path),
        "timesteps": config.conditioned_ppo_timesteps,
        "cost_weight_range": list(config.conditioned_cost_weight_range),
    }
    save_outcome_model(out_path, tuned.eval(), featurizer, {**metadata, **info})
    model.save(out_path.with_suffix(".zip"))
    log(f"  cost-conditioned PPO router: {config.conditioned_ppo_timesteps} steps in {seconds:.0f}s, saved {out_path}")
    return out_path, seconds
