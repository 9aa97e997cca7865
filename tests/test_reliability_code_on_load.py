"""Class 1, code execution on load: a crafted SB3 zip runs nothing; a project zip reloads without unpickling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from stable_baselines3.common.env_util import make_vec_env

import orchestai  # noqa: F401
from benchmarks.reliability_probe import crafted_copy
from orchestai.envs import WORKFLOW_ENV_ID
from orchestai.evaluate import __main__ as evaluate_cli
from orchestai.phase2.build import build_model
from orchestai.phase2.saved import load_trained_model, save_run
from orchestai.world.world import World

from .reliability_helpers import (
    tiny_phase2_config,
)


def test_a_crafted_zip_runs_no_code(tiny_phase1: Path, world: World, tmp_path: Path, capsys):
    config = tiny_phase2_config(init=str(tiny_phase1))
    run = tmp_path / "run"
    run.mkdir()
    save_run(build_model(config, make_vec_env(WORKFLOW_ENV_ID, n_envs=2, seed=0), world), config, run)
    marker = tmp_path / "pwned"

    # the crafted zip alone: not a model this project wrote, so it is refused
    alone = tmp_path / "foreign"
    alone.mkdir()
    crafted_copy(run / "ppo_model.zip", alone / "model.zip", marker)
    assert evaluate_cli.main(["--ppo", str(alone / "model.zip"), "--episodes", "1", "--out-dir", str(tmp_path / "e1")]) == 2
    err = capsys.readouterr().err
    assert "--allow-pickle" in err and str(alone / "model.zip") in err and "Traceback" not in err
    assert not marker.exists()

    # the crafted zip in place of a run's own: rebuilt from the run's files, only its tensors read
    crafted_copy(run / "ppo_model.zip", run / "crafted.zip", marker)
    (run / "crafted.zip").replace(run / "ppo_model.zip")
    assert evaluate_cli.main(["--ppo", str(run / "ppo_model.zip"), "--episodes", "2", "--out-dir", str(tmp_path / "e2")]) == 0
    assert not marker.exists()

    # the control: SB3's own load does unpickle it (the zip really is malicious)
    from stable_baselines3 import PPO

    with pytest.raises(Exception):  # noqa: B017  (whatever SB3 makes of os.system's return value as a policy class)
        PPO.load(run / "ppo_model.zip", device="cpu")
    assert marker.exists()


def test_a_trained_model_reloads_without_unpickling_and_acts_the_same(tiny_phase1: Path, world: World, tmp_path: Path):
    config = tiny_phase2_config(init=str(tiny_phase1), masked=True)
    model = build_model(config, make_vec_env(WORKFLOW_ENV_ID, n_envs=2, seed=0), world)
    model.learn(256)
    save_run(model, config, tmp_path)
    reloaded = load_trained_model(tmp_path / "ppo_model.zip", masked=True)
    obs = make_vec_env(WORKFLOW_ENV_ID, n_envs=4, seed=3).reset()
    masks = obs["action_mask"].astype(bool)
    np.testing.assert_array_equal(
        model.predict(obs, deterministic=True, action_masks=masks)[0],
        reloaded.predict(obs, deterministic=True, action_masks=masks)[0],
    )
    with pytest.raises(Exception, match="trained as MaskablePPO"):
        load_trained_model(tmp_path / "ppo_model.zip", masked=False)
