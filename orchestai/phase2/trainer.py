"""Phase 2: PPO fine-tuning of the planner in ``orchestai/Workflow-v0`` (the trainer behind ``python -m orchestai.phase2.ppo``).

Builds ``PlannerPolicy`` (or ``MaskablePlannerPolicy`` with ``masked``), loads the
Phase 1 planner into it *after* SB3 has built it, trains on the training split of the
synthetic workflows with the DAG-loss monitor, and writes into ``out_dir``:
``ppo_model.zip`` (SB3), ``phase2_planner.pth`` (the fine-tuned planner in the Phase 1
checkpoint format, usable by ``orchestai.plan``), ``phase2_run.json`` (the configuration
and the env kwargs it trained under, which ``orchestai.evaluate`` reads back),
``progress.csv`` (SB3 logger), ``monitor.json``, ``evaluations.npz`` (the learning curve:
the greedy policy on the same held-out workflows every ``curve_every`` steps, also
``eval/mean_reward`` in ``progress.csv``) and ``evaluation.json`` / ``evaluation.txt``
(held-out workflows: the baselines, the Phase 1 planner it started from, and the PPO
policy). Without ``init`` the planner starts untrained: the ablation.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import torch

from orchestai.agents.baselines import BestExpectedUtilityPolicy, ErrorAwareExpectedUtilityPolicy, OraclePolicy, RandomPolicy
from orchestai.agents.rollouts import evaluate_policy, format_rows, summary_rows
from orchestai.cli import EXIT_INTERRUPTED
from orchestai.envs import WORKFLOW_ENV_ID
from orchestai.files import write_json_atomic, write_text_atomic
from orchestai.phase2.build import (
    build_model,
    environment_kwargs,
    monitor_data,
    phase1_config_of,
    phase1_plan_split,
    read_init,
)
from orchestai.phase2.config import PHASE2_MODEL_FILE, PHASE2_PLANNER_FILE, PHASE2_RUN_FILE, Phase2Config
from orchestai.phase2.guard import TrainingGuard, learn_guarded
from orchestai.phase2.saved import save_run
from orchestai.planner.checkpoint import planner_from_checkpoint
from orchestai.policies.routers import Phase1Router, Sb3Router
from orchestai.rundir import claim_output_dir

PHASE2_OUTPUTS = (
    PHASE2_MODEL_FILE, PHASE2_PLANNER_FILE, PHASE2_RUN_FILE, "progress.csv", "monitor.json", "evaluations.npz",
    "evaluation.json", "evaluation.txt", "events.out.tfevents.*",
)  # fmt: skip


def train_phase2(config: Phase2Config, log: Any = print) -> int:
    """Train, monitor, save and evaluate; returns the exit code."""

    from orchestai.world.world import World

    torch.set_num_threads(config.num_threads)
    world = World.load(config.world)
    checkpoint = read_init(config, world)
    phase1_train, phase1_val = phase1_plan_split(phase1_config_of(checkpoint))
    with claim_output_dir(config.out_dir, "--out-dir", overwrite=config.overwrite, outputs=PHASE2_OUTPUTS) as out:
        return _train(config, world, checkpoint, phase1_train, phase1_val, out, log)


def _train(
    config: Phase2Config,
    world: Any,
    checkpoint: dict[str, Any] | None,
    phase1_train: list[Any],
    phase1_val: list[Any],
    out: Path,
    log: Any,
) -> int:
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.logger import configure
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    from orchestai.phase2.monitor import DagLossMonitor

    vec_cls = SubprocVecEnv if config.vec_env == "subproc" else DummyVecEnv
    env_id = "orchestai:" + WORKFLOW_ENV_ID if config.vec_env == "subproc" else WORKFLOW_ENV_ID
    venv = make_vec_env(
        env_id, n_envs=config.n_envs, seed=config.seed, vec_env_cls=vec_cls, env_kwargs=environment_kwargs(config, "train")
    )
    model = build_model(config, venv, world, checkpoint, aux_train=phase1_train)
    formats = ["stdout", "csv"]
    try:
        import tensorboard  # noqa: F401

        formats.append("tensorboard")
    except ImportError:
        pass
    model.set_logger(configure(str(out), formats))
    data, gold = monitor_data(phase1_val, world, config.monitor_logs)
    monitor = DagLossMonitor(
        data, gold, config.monitor_every, config.monitor_max_dag_loss, config.monitor_max_edge_f1_drop, config.monitor_patience
    )
    log(
        f"phase 2: {'MaskablePPO' if config.masked else 'PPO'} from {config.init or 'scratch'}, {config.timesteps} steps, {config.n_envs} envs"
    )
    guard = TrainingGuard()
    callbacks: list[Any] = [monitor, guard]
    if config.curve_every:
        from orchestai.phase2.learning_curve import SeededEvalCallback

        eval_env = make_vec_env(WORKFLOW_ENV_ID, n_envs=1, env_kwargs=environment_kwargs(config, "test"))
        callbacks.append(
            SeededEvalCallback(
                eval_env,
                config.eval_seed,
                n_eval_episodes=config.curve_episodes,
                eval_freq=max(config.curve_every // config.n_envs, 1),
                log_path=str(out),
                verbose=0,
            )  # fmt: skip
        )
    started = time.perf_counter()
    diverged_at = learn_guarded(model, config.timesteps, callbacks, guard, config.progress and sys.stderr.isatty())
    if diverged_at is not None:
        log(
            f"error: training diverged (non-finite weights) by step {diverged_at}; "
            f"keeping the last finite model, from step {guard.last_finite_timesteps}"
        )
    seconds = time.perf_counter() - started
    venv.close()
    model_path, planner_path = save_run(model, config, out, {"monitor": monitor.history})
    write_json_atomic(out / "monitor.json", {"history": monitor.history, "stop_reason": monitor.stop_reason})
    log(
        monitor.stop_reason
        or f"trained {model.num_timesteps} steps in {seconds:.0f}s; the DAG-loss monitor never stopped training"
    )
    if guard.signal_name is not None:
        log(
            f"interrupted ({guard.signal_name}) at step {model.num_timesteps}: saved the model so far to {model_path} and {planner_path}"
        )
        return EXIT_INTERRUPTED
    log(f"saved {model_path} and {planner_path}")
    if diverged_at is not None:
        return 1
    if config.eval_episodes:
        kwargs = environment_kwargs(config, "test")
        policies = [
            RandomPolicy(0), BestExpectedUtilityPolicy(), ErrorAwareExpectedUtilityPolicy(), OraclePolicy(),
            Sb3Router(model, "ppo", config.masked),
        ]  # fmt: skip
        if checkpoint is not None:  # where PPO started from
            policies.insert(-1, Phase1Router(planner_from_checkpoint(checkpoint, checkpoint["_path"])))
        rows = summary_rows([evaluate_policy(p, config.eval_episodes, config.eval_seed, **kwargs) for p in policies])
        write_json_atomic(out / "evaluation.json", rows)
        table = format_rows(rows)
        write_text_atomic(out / "evaluation.txt", table + "\n")
        log(f"evaluation on {config.eval_episodes} held-out synthetic workflows (seeds {config.eval_seed}..):\n{table}")
    return 0
