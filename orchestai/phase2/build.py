"""What Phase 2 builds from its configuration: env kwargs, the Phase 1 start, the PPO model, the monitor's data.

The Phase 1 checkpoint (``init``) is read once (:func:`read_init`), always checked
against the world, and everything Phase 2 takes from Phase 1 comes from it: the planner's
weights, and the data set and split it was trained on (for the DAG-loss monitor and the
auxiliary loss), so that Phase 2 never re-derives Phase 1's split from defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestai.configuration import from_mapping, load_yaml_config
from orchestai.data.examples import PlanExample, split_examples
from orchestai.phase1.config import DEFAULT_PHASE1_CONFIG, Phase1Config
from orchestai.phase2.config import Phase2Config
from orchestai.planner.checkpoint import CheckpointError, check_world, planner_from_checkpoint, read_checkpoint
from orchestai.planner.datasets import load_planner_data
from orchestai.planner.metrics import Plan
from orchestai.planner.model import PlannerConfig, PlannerModel
from orchestai.planner.tensors import PlanTensors, tensorize
from orchestai.planner.vocabulary import vocabulary_for_world
from orchestai.world.world import World

REWARD_KEYS = ("success_bonus", "cost_weight", "latency_weight")


def environment_kwargs(config: Phase2Config, split: str) -> dict[str, Any]:
    """``gymnasium.make`` kwargs for the configured world, reward weights and workflow split."""
    kwargs: dict[str, Any] = {"workflow_split": split}
    if config.world is not None:
        kwargs["world"] = config.world
    for key in REWARD_KEYS:
        if getattr(config, key) is not None:
            kwargs[key] = getattr(config, key)
    return kwargs


def resolve_init_path(init: str) -> Path:
    """The Phase 1 checkpoint ``init`` names: the path itself, or the bare file name under ``checkpoints/`` (Phase 1's default out-dir)."""
    path = Path(init)
    if path.exists():
        return path
    default_dir = Path(Phase1Config().out_dir)
    if path.parent == Path(".") and (default_dir / path.name).exists():
        return default_dir / path.name
    raise CheckpointError(
        f"{init}: checkpoint not found (looked at {path} and {default_dir / path.name}; "
        "python -m orchestai.phase1.train writes phase1_best_model_N.pth into its --out-dir, default checkpoints/)"
    )


def read_init(config: Phase2Config, world: World) -> dict[str, Any] | None:
    """The Phase 1 checkpoint dict (read once, checked against ``world``), or ``None`` without ``init``."""
    if not config.init:
        return None
    path = resolve_init_path(config.init)
    checkpoint = read_checkpoint(path)
    check_world(checkpoint, world.names_signature(), path)
    planner_from_checkpoint(checkpoint, path)  # its weights fit its architecture (else a one-line error naming it)
    checkpoint["_path"] = str(path)
    return checkpoint


def phase1_config_of(checkpoint: dict[str, Any] | None) -> Phase1Config:
    """The Phase 1 configuration a checkpoint was trained with (the bundled defaults without one)."""
    if checkpoint is None or "phase1_config" not in checkpoint.get("extra", {}):
        return load_yaml_config(Phase1Config, DEFAULT_PHASE1_CONFIG)
    return from_mapping(
        Phase1Config, checkpoint["extra"]["phase1_config"], checkpoint.get("_path", "<checkpoint>"), "extra.phase1_config"
    )


def phase1_plan_split(phase1: Phase1Config) -> tuple[list[PlanExample], list[PlanExample]]:
    """Phase 1's training and validation plans: its data set, split exactly as Phase 1 split it."""
    data = load_planner_data(phase1.format, phase1.data, phase1.world, phase1.n_logs, phase1.skip_invalid)
    return split_examples(data.examples, phase1.split, phase1.val_fraction, phase1.split_seed)


def monitor_data(validation: list[PlanExample], world: World, n_logs: int) -> tuple[PlanTensors, list[Plan]]:
    """Validation plans for the DAG-loss monitor (the first ``n_logs`` of Phase 1's validation split)."""
    chosen = validation[:n_logs]
    return tensorize(chosen, vocabulary_for_world(world)), [Plan(e.types, e.parents, e.models) for e in chosen]


def build_model(
    config: Phase2Config,
    venv: Any,
    world: World,
    checkpoint: dict[str, Any] | None = None,
    read_words: bool = True,
    aux_train: list[PlanExample] | None = None,
) -> Any:
    """The PPO / MaskablePPO model, with the Phase 1 planner of ``checkpoint`` loaded (read from ``init`` if not given).

    ``read_words=False`` (a fresh planner only) makes the policy read the instruction only
    through the observation's sentence embedding (``orchestai/RouterBench-v0``).
    ``aux_train``: Phase 1's training plans, for the auxiliary loss (``aux_coef > 0``).
    """
    from stable_baselines3 import PPO

    from orchestai.policies.planner_policy import (
        MaskablePlannerPolicy,
        PlannerPolicy,
        planner_policy_kwargs,
        planner_policy_kwargs_for_world,
    )

    if checkpoint is None and config.init:
        checkpoint = read_init(config, world)
    if checkpoint is not None:
        policy_kwargs = planner_policy_kwargs(checkpoint, config.hidden)
    else:
        policy_kwargs = planner_policy_kwargs_for_world(world, PlannerConfig(), config.hidden, read_words)
    algo: Any
    policy: Any
    if config.masked:
        from sb3_contrib import MaskablePPO

        algo, policy = MaskablePPO, MaskablePlannerPolicy
    else:
        algo, policy = PPO, PlannerPolicy
    extra: dict[str, Any] = {}
    if config.aux_coef > 0:
        from orchestai.phase2.auxiliary import MaskablePlannerPPO, PlannerPPO

        phase1 = phase1_config_of(checkpoint)
        train = aux_train if aux_train is not None else phase1_plan_split(phase1)[0]
        algo = MaskablePlannerPPO if config.masked else PlannerPPO
        extra = {
            "aux_data": tensorize(train, vocabulary_for_world(world)),
            "aux_coef": config.aux_coef,
            "aux_steps": config.aux_steps,
            "aux_batch_size": config.aux_batch_size,
            "aux_seed": config.seed,
            "aux_loss_weights": phase1,
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
    if checkpoint is not None:
        # after construction: SB3 initialises the policy's weights when it builds it
        planner: PlannerModel = model.policy.planner
        planner.load_state_dict(checkpoint["model_state_dict"])
    return model
