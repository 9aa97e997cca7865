"""Loading a Phase 2 model without unpickling anything from its zip.

SB3's ``PPO.load`` unpickles the zip's ``data`` entry (cloudpickle): a crafted zip runs
code. A model this project wrote has ``phase2_run.json`` (its configuration, plain JSON)
and ``phase2_planner.pth`` (the planner's architecture, loaded with
``weights_only=True``) beside it, so it is rebuilt from those and only its weights are
read from the zip (SB3's ``set_parameters``, which loads tensors with
``weights_only=True`` and never reads ``data``). A zip without them is refused unless
the caller trusts it (``allow_pickle``), as the README's trust model says.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from orchestai.configuration import ConfigError, from_mapping, to_mapping
from orchestai.files import InputFileError, check_regular_file, parse_json, read_text, write_json_atomic
from orchestai.phase2.build import build_model, environment_kwargs
from orchestai.phase2.config import PHASE2_MODEL_FILE, PHASE2_PLANNER_FILE, PHASE2_RUN_FILE, Phase2Config
from orchestai.planner.checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from orchestai.world.world import World


def load_trained_model(path: str | Path, masked: bool | None = None, allow_pickle: bool = False) -> Any:
    """The PPO / MaskablePPO model saved at ``path`` (a zip written by ``phase2.ppo``), rebuilt without unpickling.

    ``masked`` (when given) must agree with how the run was trained. With ``allow_pickle``
    a foreign zip is loaded through SB3's own (unpickling) ``load``: only for files you trust.
    """
    path = Path(path)
    try:
        check_regular_file(path)
    except InputFileError as error:
        raise CheckpointError(str(error)) from None
    run_file, planner_file = path.parent / PHASE2_RUN_FILE, path.parent / PHASE2_PLANNER_FILE
    if not (run_file.is_file() and planner_file.is_file()):
        if not allow_pickle:
            raise CheckpointError(
                f"{path}: no {PHASE2_RUN_FILE} and {PHASE2_PLANNER_FILE} beside it, so it is not a model written by "
                "orchestai.phase2.ppo; loading it would unpickle code from the zip: pass --allow-pickle only for a file you trust"
            )
        return _load_pickled(path, bool(masked))
    try:
        stored = parse_json(read_text(run_file), str(run_file))
        config = from_mapping(Phase2Config, stored["phase2_config"], str(run_file), "phase2_config")
        env_kwargs = dict(stored["env_kwargs"])
    except (KeyError, TypeError) as error:
        raise ConfigError(str(run_file), "", f"not a {PHASE2_RUN_FILE} ({error})") from None
    if masked is not None and masked != config.masked:
        kind = "MaskablePPO (--maskable-ppo)" if config.masked else "PPO (--ppo)"
        raise CheckpointError(f"{path}: trained as {kind}, according to {run_file}")
    checkpoint = read_checkpoint(planner_file)
    world = World.load(config.world)
    venv = _one_env(env_kwargs)
    # the architecture is the stored planner's; init and the auxiliary loss play no part in loading
    model = build_model(dataclasses.replace(config, init=None, aux_coef=0.0, n_envs=1), venv, world, checkpoint)
    try:
        model.set_parameters(str(path), exact_match=True, device="cpu")
    except (ValueError, RuntimeError, KeyError) as error:
        problem = " ".join(str(error).split())[:300]
        raise CheckpointError(f"{path}: its weights do not fit the policy described by {run_file} ({problem})") from None
    return model


def save_run(model: Any, config: Phase2Config, out: Path, extra: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """Write ``ppo_model.zip``, ``phase2_planner.pth`` and ``phase2_run.json`` into ``out``, each atomically."""
    model_path = out / PHASE2_MODEL_FILE
    temporary = out / f".{PHASE2_MODEL_FILE}.{os.getpid()}.tmp.zip"
    try:
        model.save(temporary)
        os.replace(temporary, model_path)
    finally:
        temporary.unlink(missing_ok=True)
    planner_path = save_checkpoint(
        out / PHASE2_PLANNER_FILE, model.policy.planner, None, epoch=int(model.num_timesteps), val_loss=float("nan"),
        extra={"phase2_config": to_mapping(config), **(extra or {})},
    )  # fmt: skip
    write_json_atomic(
        out / PHASE2_RUN_FILE, {"phase2_config": to_mapping(config), "env_kwargs": environment_kwargs(config, "test")}
    )
    return model_path, planner_path


def _one_env(env_kwargs: dict[str, Any]) -> Any:
    import gymnasium as gym
    from stable_baselines3.common.vec_env import DummyVecEnv

    from orchestai.envs import WORKFLOW_ENV_ID

    return DummyVecEnv([lambda: gym.make(WORKFLOW_ENV_ID, **env_kwargs)])


def _load_pickled(path: Path, masked: bool) -> Any:
    from sb3_contrib import MaskablePPO
    from stable_baselines3 import PPO

    return (MaskablePPO if masked else PPO).load(path, device="cpu")
