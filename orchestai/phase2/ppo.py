"""``python -m orchestai.phase2.ppo --init checkpoints/phase1_best_model_1000.pth``: PPO fine-tuning.

Builds ``PlannerPolicy`` (or ``MaskablePlannerPolicy`` with ``--masked``), loads the
Phase 1 planner into it *after* SB3 has built it, trains on the training split of the
synthetic workflows with the DAG-loss monitor, and writes into ``--out-dir``:
``ppo_model.zip`` (SB3), ``phase2_planner.pth`` (the fine-tuned planner in the Phase 1
checkpoint format, usable by ``orchestai.plan``), ``progress.csv`` (SB3 logger),
``monitor.json``, ``evaluations.npz`` (the learning curve: the greedy policy on the same
held-out workflows every ``curve_every`` steps, also ``eval/mean_reward`` in
``progress.csv``) and ``evaluation.json`` / ``evaluation.txt`` (held-out workflows: the
baselines, the Phase 1 planner it started from, and the PPO policy).
Without ``--init`` the planner starts untrained: the ablation.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from orchestai.configuration import ConfigError, add_config_flags, apply_flags, load_yaml_config, to_mapping
from orchestai.envs import WORKFLOW_ENV_ID
from orchestai.paths import CONFIG_DIR
from orchestai.phase2.config import Phase2Config
from orchestai.planner.checkpoint import CheckpointError, load_planner, read_checkpoint, save_checkpoint
from orchestai.planner.model import PlannerConfig


def environment_kwargs(config: Phase2Config, split: str) -> dict[str, Any]:
    """``gymnasium.make`` kwargs for the configured world, reward weights and workflow split."""
    kwargs: dict[str, Any] = {"workflow_split": split}
    if config.world is not None:
        kwargs["world"] = config.world
    for key in ("success_bonus", "cost_weight", "latency_weight"):
        if getattr(config, key) is not None:
            kwargs[key] = getattr(config, key)
    return kwargs


def default_plan_split(world: Any) -> tuple[list[Any], list[Any]]:
    """The default synthetic logs' Phase 1 training and validation plans (split as Phase 1 splits them)."""
    from orchestai.data.examples import examples_from_logs, split_examples
    from orchestai.data.generate import ensure_default_logs
    from orchestai.data.logs import load_logs

    path = ensure_default_logs(world=world)
    return split_examples(examples_from_logs(load_logs(path, world).logs, world), 0.2, 0)


def monitor_data(world: Any, n_logs: int) -> tuple[Any, list[Any]]:
    """Validation plans for the DAG-loss monitor: the default synthetic logs' validation split."""
    from orchestai.phase1.train import vocabulary_for_world
    from orchestai.planner.metrics import Plan
    from orchestai.planner.tensors import tensorize

    val = default_plan_split(world)[1][:n_logs]
    return tensorize(val, vocabulary_for_world(world)), [Plan(e.types, e.parents, e.models) for e in val]


def auxiliary_data(world: Any) -> Any:
    """Phase 1 training plans for the auxiliary loss: the default synthetic logs' training split."""
    from orchestai.phase1.train import vocabulary_for_world
    from orchestai.planner.tensors import tensorize

    return tensorize(default_plan_split(world)[0], vocabulary_for_world(world))


def build_model(config: Phase2Config, venv: Any, world: Any, read_words: bool = True) -> Any:
    """The PPO / MaskablePPO model, with the Phase 1 planner loaded when ``init`` is set.

    ``read_words=False`` (a fresh planner only) makes the policy read the instruction only
    through the observation's sentence embedding (``orchestai/RouterBench-v0``).
    """
    from stable_baselines3 import PPO

    from orchestai.policies.planner_policy import (
        MaskablePlannerPolicy,
        PlannerPolicy,
        load_phase1_weights,
        planner_policy_kwargs,
        planner_policy_kwargs_for_world,
    )

    if config.init:
        policy_kwargs = planner_policy_kwargs(read_checkpoint(config.init), config.hidden)
    else:
        policy_kwargs = planner_policy_kwargs_for_world(world, PlannerConfig(), config.hidden, read_words)
    if config.masked:
        from sb3_contrib import MaskablePPO

        algo, policy = MaskablePPO, MaskablePlannerPolicy
    else:
        algo, policy = PPO, PlannerPolicy
    extra: dict[str, Any] = {}
    if config.aux_coef > 0:
        from orchestai.phase2.auxiliary import MaskablePlannerPPO, PlannerPPO

        algo = MaskablePlannerPPO if config.masked else PlannerPPO
        extra = {
            "aux_data": auxiliary_data(world),
            "aux_coef": config.aux_coef,
            "aux_steps": config.aux_steps,
            "aux_batch_size": config.aux_batch_size,
            "aux_seed": config.seed,
        }
    learning_rate: Any = config.learning_rate
    if config.lr_schedule == "linear":
        from stable_baselines3.common.utils import LinearSchedule

        # from learning_rate down to 0 over one learn() call, as rl-zoo3's "lin_" schedules
        learning_rate = LinearSchedule(config.learning_rate, 0.0, 1.0)
    model = algo(
        policy,
        venv,
        learning_rate=learning_rate,
        n_steps=config.n_steps,
        batch_size=config.batch_size,
        n_epochs=config.n_epochs,
        gamma=config.gamma,
        gae_lambda=config.gae_lambda,
        clip_range=config.clip_range,
        ent_coef=config.ent_coef,
        vf_coef=config.vf_coef,
        seed=config.seed,
        policy_kwargs=policy_kwargs,
        verbose=0,
        **extra,
    )
    if config.init:
        # after construction: SB3 initialises the policy's weights when it builds it
        load_phase1_weights(model.policy, config.init, world.names_signature())
    return model


def run(config: Phase2Config, log: Any = print) -> int:
    """Train, monitor, save and evaluate; returns the exit code."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.logger import configure
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    from orchestai.phase2.monitor import DagLossMonitor
    from orchestai.world.world import World

    torch.set_num_threads(config.num_threads)
    world = World.load(config.world)
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    vec_cls = SubprocVecEnv if config.vec_env == "subproc" else DummyVecEnv
    env_id = "orchestai:" + WORKFLOW_ENV_ID if config.vec_env == "subproc" else WORKFLOW_ENV_ID
    venv = make_vec_env(
        env_id, n_envs=config.n_envs, seed=config.seed, vec_env_cls=vec_cls, env_kwargs=environment_kwargs(config, "train")
    )
    model = build_model(config, venv, world)
    formats = ["stdout", "csv"]
    try:
        import tensorboard  # noqa: F401

        formats.append("tensorboard")
    except ImportError:
        pass
    model.set_logger(configure(str(out), formats))
    data, gold = monitor_data(world, config.monitor_logs)
    monitor = DagLossMonitor(
        data, gold, config.monitor_every, config.monitor_max_dag_loss, config.monitor_max_edge_f1_drop, config.monitor_patience
    )
    log(
        f"phase 2: {'MaskablePPO' if config.masked else 'PPO'} from {config.init or 'scratch'}, {config.timesteps} steps, {config.n_envs} envs"
    )
    callbacks: list[Any] = [monitor]
    if config.curve_every:
        from orchestai.phase2.learning_curve import SeededEvalCallback

        eval_env = make_vec_env(WORKFLOW_ENV_ID, n_envs=1, env_kwargs=environment_kwargs(config, "test"))
        callbacks.append(
            SeededEvalCallback(
                eval_env, config.eval_seed, n_eval_episodes=config.curve_episodes,
                eval_freq=max(config.curve_every // config.n_envs, 1), log_path=str(out), verbose=0,
            )  # fmt: skip
        )
    started = time.perf_counter()
    model.learn(config.timesteps, callback=callbacks, progress_bar=config.progress and sys.stderr.isatty())
    seconds = time.perf_counter() - started
    venv.close()
    model_path = out / "ppo_model.zip"
    model.save(model_path)
    planner_path = save_checkpoint(
        out / "phase2_planner.pth", model.policy.planner, None, epoch=int(model.num_timesteps), val_loss=float("nan"),
        extra={"phase2_config": to_mapping(config), "monitor": monitor.history},
    )  # fmt: skip
    (out / "monitor.json").write_text(json.dumps({"history": monitor.history, "stop_reason": monitor.stop_reason}, indent=1))
    log(
        monitor.stop_reason
        or f"trained {model.num_timesteps} steps in {seconds:.0f}s; the DAG-loss monitor never stopped training"
    )
    log(f"saved {model_path} and {planner_path}")
    if config.eval_episodes:
        from orchestai.evaluate.baselines import (
            BestExpectedUtilityPolicy,
            ErrorAwareExpectedUtilityPolicy,
            OraclePolicy,
            RandomPolicy,
        )
        from orchestai.evaluate.learned import Phase1Router, Sb3Router
        from orchestai.evaluate.report import format_rows, summary_rows
        from orchestai.evaluate.rollouts import evaluate_policy

        kwargs = environment_kwargs(config, "test")
        policies = [
            RandomPolicy(0), BestExpectedUtilityPolicy(), ErrorAwareExpectedUtilityPolicy(), OraclePolicy(),
            Sb3Router(model, "ppo", config.masked),
        ]  # fmt: skip
        if config.init:  # where PPO started from
            policies.insert(-1, Phase1Router(load_planner(config.init)[0]))
        rows = summary_rows([evaluate_policy(p, config.eval_episodes, config.eval_seed, **kwargs) for p in policies])
        (out / "evaluation.json").write_text(json.dumps(rows, indent=1))
        table = format_rows(rows)
        (out / "evaluation.txt").write_text(table + "\n")
        log(f"evaluation on {config.eval_episodes} held-out synthetic workflows (seeds {config.eval_seed}..):\n{table}")
    return 0


def parse_config(argv: list[str] | None = None) -> Phase2Config:
    """The Phase 2 configuration from ``--config`` plus flags."""
    parser = argparse.ArgumentParser(description="Phase 2: PPO fine-tuning of the OrchestAI planner.")
    parser.add_argument("--config", type=Path, default=CONFIG_DIR / "phase2.yaml", help="YAML configuration")
    add_config_flags(parser, Phase2Config)
    args = vars(parser.parse_args(argv))
    return apply_flags(load_yaml_config(Phase2Config, args.pop("config")), args)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    try:
        return run(parse_config(argv))
    except (ConfigError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
