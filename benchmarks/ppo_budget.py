"""PPO quality against training budget: train for a wall-clock budget, evaluating on held-out workflows.

Trains ``PlannerPolicy`` with the Phase 2 settings (``orchestai/configs/phase2.yaml`` plus any of
its flags, e.g. ``--init``, ``--masked``, ``--ent-coef``) in chunks of ``--chunk`` steps
until ``--seconds`` have passed or ``--timesteps`` is reached (200,000 in
``orchestai/configs/phase2.yaml``: raise it for long budgets), evaluating the greedy policy on
``--eval-episodes`` held-out synthetic workflows (seeds ``--eval-seed``..) after every
``--eval-every`` steps and at the end. Prints one JSON line per evaluation, so parallel
runs on a many-core machine can be compared on the same seeds; writes SB3's
``progress.csv`` and the final ``ppo_model.zip`` to ``--out-dir``. The learning rate is
constant (``--lr-schedule`` is ignored: an open-ended budget has no end to decay
towards). The DAG-loss monitor is not run (it never fired in the default runs; see the
closing notes).

    python benchmarks/ppo_budget.py --init checkpoints/phase1_best_model_1000.pth --seconds 1200 --timesteps 100000000 --eval-every 500000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import configure

from orchestai.agents.rollouts import evaluate_policy
from orchestai.configuration import add_config_flags, apply_flags, load_yaml_config
from orchestai.envs import WORKFLOW_ENV_ID
from orchestai.paths import CONFIG_DIR
from orchestai.phase2.build import build_model, environment_kwargs
from orchestai.phase2.config import Phase2Config
from orchestai.phase2.saved import save_run
from orchestai.policies.routers import Sb3Router
from orchestai.world.world import World


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(CONFIG_DIR / "phase2.yaml"))
    parser.add_argument("--seconds", type=float, default=600.0, help="wall-clock training budget")
    parser.add_argument("--chunk", type=int, default=16_384, help="steps between budget checks")
    parser.add_argument("--eval-every", type=int, default=0, help="also evaluate every N steps (0: only at the end)")
    parser.add_argument("--label", default="run")
    add_config_flags(parser, Phase2Config)
    args = vars(parser.parse_args())
    seconds, chunk, eval_every, label = args.pop("seconds"), args.pop("chunk"), args.pop("eval_every"), args.pop("label")
    config = apply_flags(load_yaml_config(Phase2Config, args.pop("config")), args)
    config = dataclasses.replace(config, lr_schedule="constant")
    torch.set_num_threads(config.num_threads)
    world = World.load(config.world)
    venv = make_vec_env(
        WORKFLOW_ENV_ID, n_envs=config.n_envs, seed=config.seed, env_kwargs=environment_kwargs(config, "train")
    )
    model = build_model(config, venv, world)
    model.set_logger(configure(str(Path(config.out_dir)), ["csv"]))  # SB3's progress.csv, to see how training went
    test_kwargs = environment_kwargs(config, "test")

    def report(elapsed: float) -> None:
        result = evaluate_policy(Sb3Router(model, label, config.masked), config.eval_episodes, config.eval_seed, **test_kwargs)
        mean, half = result.mean_ci95(result.returns)
        line = {
            "label": label, "steps": int(model.num_timesteps), "train_seconds": round(elapsed, 1),
            "return": round(mean, 4), "return_ci95": round(half, 4), "success": round(float(result.successes.mean()), 4),
            "cost_usd": round(float(result.costs.mean()), 5), "makespan_s": round(float(result.makespans.mean()), 2),
        }  # fmt: skip
        print(json.dumps(line), flush=True)

    started, next_eval, reported_at = time.perf_counter(), eval_every, -1
    while time.perf_counter() - started < seconds and model.num_timesteps < config.timesteps:
        model.learn(chunk, reset_num_timesteps=False)
        if eval_every and model.num_timesteps >= next_eval:
            report(time.perf_counter() - started)
            reported_at, next_eval = model.num_timesteps, next_eval + eval_every
    if reported_at != model.num_timesteps:
        report(time.perf_counter() - started)
    save_run(model, config, Path(config.out_dir))  # loadable by orchestai.evaluate without unpickling
    sys.stdout.flush()


if __name__ == "__main__":
    main()
