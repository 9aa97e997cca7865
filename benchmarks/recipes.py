"""The README's training recipes against masked random routing, over seeds.

* ``zoo``: the rl-zoo3 recipe, ``hyperparams/ppo.yml`` (``PlannerPolicy`` from scratch,
  which applies the action mask), trained as rl-zoo3 would;
* ``multi_input``: SB3's ``PPO("MultiInputPolicy")`` with the same settings, which cannot
  apply the mask: the documented limitation.

Prints, per recipe and seed, the greedy policy's mean return on held-out workflows and
masked random's on the same seeds, then the margin's minimum and median over the seeds.

    python benchmarks/recipes.py [--recipes zoo multi_input] [--steps 100000] [--seeds 5] [--episodes 200]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch
import yaml
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

import orchestai.policies  # noqa: F401  (registers "PlannerPolicy" with SB3, as rl-zoo3's --gym-packages does)
from orchestai.agents.baselines import RandomPolicy
from orchestai.agents.rollouts import evaluate_policy
from orchestai.envs import WORKFLOW_ENV_ID
from orchestai.policies.routers import Sb3Router

RECIPE = Path(__file__).resolve().parent.parent / "hyperparams" / "ppo.yml"
ALGO_KEYS = ("n_steps", "batch_size", "n_epochs", "learning_rate", "gae_lambda", "ent_coef", "gamma")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipes", nargs="+", default=["zoo", "multi_input"], choices=["zoo", "multi_input"])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--episodes", type=int, default=200)
    args = parser.parse_args()
    recipe = yaml.safe_load(RECIPE.read_text())[WORKFLOW_ENV_ID]
    settings = {k: recipe[k] for k in ALGO_KEYS if k in recipe}
    torch.set_num_threads(1)
    random = float(evaluate_policy(RandomPolicy(0), args.episodes, seed=500, workflow_split="test").returns.mean())
    for name in args.recipes:
        policy = recipe["policy"] if name == "zoo" else "MultiInputPolicy"
        margins = []
        for seed in range(args.seeds):
            venv = make_vec_env(WORKFLOW_ENV_ID, n_envs=recipe["n_envs"], seed=seed, env_kwargs=recipe.get("env_kwargs", {}))
            model = PPO(policy, venv, seed=seed, verbose=0, **settings)
            model.learn(args.steps)
            trained = evaluate_policy(Sb3Router(model, name), args.episodes, seed=500, workflow_split="test")
            margins.append(float(trained.returns.mean()) - random)
            print(
                f"{name} ({policy}), seed {seed}, {args.steps} steps: return {trained.returns.mean():.3f}, success "
                f"{trained.successes.mean():.3f}; masked random {random:.3f}; margin {margins[-1]:+.3f}",
                flush=True,
            )
        print(
            f"{name}: margin over masked random, {args.seeds} seeds: min {min(margins):+.3f}, median {statistics.median(margins):+.3f}"
        )


if __name__ == "__main__":
    main()
