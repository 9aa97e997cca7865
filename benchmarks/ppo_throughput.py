"""PPO training throughput: PlannerPolicy against SB3's MultiInputPolicy, measured in one run.

Both train PPO on ``orchestai/Workflow-v0`` with the same settings (``orchestai/configs/phase2.yaml``
defaults: 4 DummyVecEnv envs, n_steps 512, batch 256, 4 epochs) for ``--steps`` steps,
in alternating rounds; the PlannerPolicy is initialised from a Phase 1 checkpoint when
one is given (``--init``), which does not change its cost. Prints steps per second of
each and the median ratio. Target: ratio >= 0.5.

    python benchmarks/ppo_throughput.py [--steps 8192] [--rounds 3] [--init PATH]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

from orchestai.configuration import load_yaml_config
from orchestai.envs import WORKFLOW_ENV_ID
from orchestai.paths import CONFIG_DIR
from orchestai.phase2.build import build_model
from orchestai.phase2.config import Phase2Config
from orchestai.world.world import World


def steps_per_second(make_model, steps: int) -> float:
    model = make_model()
    model.learn(256)  # warm-up: first rollout, lazy imports
    start = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=8192)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--init", default=None, help="a Phase 1 checkpoint for the PlannerPolicy")
    args = parser.parse_args()
    config = load_yaml_config(Phase2Config, CONFIG_DIR / "phase2.yaml")
    torch.set_num_threads(config.num_threads)
    world = World.load()
    settings = dict(
        n_steps=config.n_steps, batch_size=config.batch_size, n_epochs=config.n_epochs, learning_rate=config.learning_rate,
        gamma=config.gamma, gae_lambda=config.gae_lambda, clip_range=config.clip_range, seed=0, verbose=0,
    )  # fmt: skip

    def planner_model():
        venv = make_vec_env(WORKFLOW_ENV_ID, n_envs=config.n_envs, seed=0)
        from dataclasses import replace

        return build_model(replace(config, init=args.init), venv, world)

    def multi_input_model():
        venv = make_vec_env(WORKFLOW_ENV_ID, n_envs=config.n_envs, seed=0)
        return PPO("MultiInputPolicy", venv, **settings)

    planner, baseline, ratios = [], [], []
    for round_index in range(args.rounds):
        p = steps_per_second(planner_model, args.steps)
        b = steps_per_second(multi_input_model, args.steps)
        planner.append(p)
        baseline.append(b)
        ratios.append(p / b)
        print(f"round {round_index + 1}: PlannerPolicy {p:,.0f} steps/s, MultiInputPolicy {b:,.0f} steps/s, ratio {p / b:.2f}")
    print(
        f"median: PlannerPolicy {statistics.median(planner):,.0f} steps/s, MultiInputPolicy "
        f"{statistics.median(baseline):,.0f} steps/s, ratio {statistics.median(ratios):.2f} (target >= 0.5)"
    )


if __name__ == "__main__":
    main()
