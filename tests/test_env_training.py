"""Real (small) training runs of SB3 agents on orchestai/Workflow-v0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from orchestai.envs import WORKFLOW_ENV_ID
from orchestai.evaluate.baselines import RandomPolicy
from orchestai.evaluate.rollouts import evaluate_policy

EVAL_EPISODES = 60
EVAL_SEED = 500


class _Sb3Router:
    def __init__(self, model, masked: bool) -> None:
        self.model, self.masked, self.name = model, masked, "sb3"

    def act(self, obs, env) -> int:
        kwargs = {"action_masks": obs["action_mask"].astype(bool)} if self.masked else {}
        action, _ = self.model.predict(obs, deterministic=True, **kwargs)
        return int(action)


def _train(algo_cls, steps: int):
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(1)
    venv = make_vec_env(WORKFLOW_ENV_ID, n_envs=4, seed=0)
    model = algo_cls(
        "MultiInputPolicy", venv, n_steps=256, batch_size=256, learning_rate=1e-3, ent_coef=0.01, seed=0, verbose=0
    )
    model.learn(steps)
    return model


@pytest.fixture(scope="module")
def random_return() -> float:
    return float(evaluate_policy(RandomPolicy(seed=0), EVAL_EPISODES, seed=EVAL_SEED).returns.mean())


@pytest.mark.slow
def test_maskable_ppo_learns_to_beat_random(random_return: float):
    from sb3_contrib import MaskablePPO

    model = _train(MaskablePPO, 4096)
    result = evaluate_policy(_Sb3Router(model, masked=True), EVAL_EPISODES, seed=EVAL_SEED)
    assert result.returns.mean() > random_return + 0.1


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason=(
        "measured limitation: plain PPO with SB3's MultiInputPolicy cannot apply the action mask and, "
        "before it ever completes a workflow, learns to fail fast with masked actions (benchmarks/plain_ppo.py: "
        "return -0.200 after 100k steps against masked random's -0.029); PlannerPolicy applies the mask under plain PPO"
    ),
)
def test_plain_ppo_multi_input_policy_beats_random(random_return: float):
    from stable_baselines3 import PPO

    model = _train(PPO, 4096)
    result = evaluate_policy(_Sb3Router(model, masked=False), EVAL_EPISODES, seed=EVAL_SEED)
    assert result.returns.mean() > random_return


@pytest.mark.slow
def test_plain_ppo_trains_and_acts_within_the_action_space():
    from stable_baselines3 import PPO

    model = _train(PPO, 1024)
    env = gym.make(WORKFLOW_ENV_ID)
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(int(action))
    assert model.num_timesteps >= 1024


@pytest.mark.slow
def test_rl_zoo3_trains_from_the_yaml_file(tmp_path: Path):
    pytest.importorskip("rl_zoo3", reason="rl_zoo3 is in the [dev] extra")
    root = Path(__file__).resolve().parent.parent
    command = [
        sys.executable, "-m", "rl_zoo3.train", "--algo", "ppo", "--env", WORKFLOW_ENV_ID,
        "--gym-packages", "orchestai", "--conf-file", str(root / "hyperparams" / "ppo.yml"),
        "-n", "1024", "-f", str(tmp_path), "--seed", "0", "--eval-freq", "-1",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    saved = list(tmp_path.glob("ppo/orchestai-Workflow-v0_1/orchestai-Workflow-v0.zip"))
    assert len(saved) == 1
    monitor = np.loadtxt(next(tmp_path.glob("ppo/orchestai-Workflow-v0_1/*.monitor.csv")), delimiter=",", skiprows=2)
    assert len(monitor) > 0  # episodes were run and logged
