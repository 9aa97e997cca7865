"""Plain PPO with SB3's MultiInputPolicy on orchestai/Workflow-v0, against the masked random baseline.

Documents a measured limitation (see the strict xfail in ``tests/test_env_training.py``):
the MultiInputPolicy cannot apply the action mask, and before it ever completes a
workflow it learns to fail fast with masked actions. Prints the mean return of the
trained policy (deterministic) and of masked random routing on the same seeds.

    python benchmarks/plain_ppo.py [--steps 100000] [--episodes 100]
"""

from __future__ import annotations

import argparse

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

from orchestai.envs import WORKFLOW_ENV_ID
from orchestai.evaluate.baselines import RandomPolicy
from orchestai.evaluate.learned import Sb3Router
from orchestai.evaluate.rollouts import evaluate_policy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--invalid-action-latency-s", type=float, default=None, help="override the world's penalty")
    args = parser.parse_args()
    env_kwargs = {} if args.invalid_action_latency_s is None else {"invalid_action_latency_s": args.invalid_action_latency_s}
    torch.set_num_threads(1)
    venv = make_vec_env(WORKFLOW_ENV_ID, n_envs=4, seed=0, env_kwargs=env_kwargs)
    model = PPO("MultiInputPolicy", venv, n_steps=256, batch_size=256, learning_rate=3e-4, ent_coef=0.02, gamma=0.99, seed=0)
    model.learn(args.steps)
    trained = evaluate_policy(Sb3Router(model, "plain_ppo"), args.episodes, seed=500, **env_kwargs)
    random = evaluate_policy(RandomPolicy(0), args.episodes, seed=500, **env_kwargs)
    print(
        f"plain PPO (MultiInputPolicy, {args.steps} steps): mean return {trained.returns.mean():.3f}, "
        f"success {trained.successes.mean():.3f}, cost {trained.costs.mean():.5f}; "
        f"masked random: mean return {random.returns.mean():.3f}, success {random.successes.mean():.3f}"
    )


if __name__ == "__main__":
    main()
