"""Real (small) training runs of SB3 agents, checked on a tiny world whose optimum is known (SB3's IdentityEnv style).

The tiny world has two task types and four models: ``good`` (reliable and cheap),
``bad`` (cheap, fails 70% of the time), ``pricey`` (as reliable as ``good`` at 100x the
price) and ``specialist`` (can only do type ``a``). Nothing is hidden (no difficulty
spread, no outages), so the best model for every decision is ``good``. The tests assert
an absolute threshold on the greedy policy (it picks ``good`` on nearly every decision),
which holds on any machine's random stream, rather than one seed's margin over random.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from stable_baselines3.common.vec_env import DummyVecEnv

from orchestai.configuration import from_mapping
from orchestai.envs import WORKFLOW_ENV_ID
from orchestai.envs.workflow_env import WorkflowEnv
from orchestai.world.config import WorldConfig
from orchestai.world.workflow import WorkflowSpec
from orchestai.world.world import World

GOOD = 0
LATENCY = {"ttft_median_s": 0.5, "ttft_log_sigma": 0.0, "per_token_median_s": 0.005, "per_token_log_sigma": 0.0}


def tiny_world() -> World:
    types = [
        {"name": name, "category": "tiny", "input_modality": "text", "output_modality": "text", "input_tokens": 500,
         "output_tokens": 100, "difficulty_offset": 0.0, "phrases": [f"do {name}"]}
        for name in ("a", "b")
    ]  # fmt: skip
    models = [
        {"name": "good", "price_input_per_1k": 0.001, "price_output_per_1k": 0.002, "latency": LATENCY, "skills": {"a": 0.97, "b": 0.97}},
        {"name": "bad", "price_input_per_1k": 0.001, "price_output_per_1k": 0.002, "latency": LATENCY, "skills": {"a": 0.3, "b": 0.3}},
        {"name": "pricey", "price_input_per_1k": 0.1, "price_output_per_1k": 0.2, "latency": LATENCY, "skills": {"a": 0.97, "b": 0.97}},
        {"name": "specialist", "price_input_per_1k": 0.001, "price_output_per_1k": 0.002, "latency": LATENCY, "skills": {"a": 0.5}},
    ]  # fmt: skip
    config = {
        "task_types": types,
        "models": models,
        "conditions": {"difficulty_std": 0.0, "overload_probability": 0.0, "overload_latency_factor": 1.0,
                       "outage_probability": 0.0, "outage_latency_s": 10.0, "input_quality_sensitivity": 0.0},
        "slots": {},
        "templates": {"count": 1, "min_subtasks": 1, "mean_subtasks": 3, "max_subtasks": 4},
        "tokenizer": {"vocab_size": 64, "max_tokens": 16},
    }  # fmt: skip
    return World(from_mapping(WorldConfig, config, "tiny world"), source="tiny world")


TINY_WORKFLOWS = [
    WorkflowSpec(
        "chain", "do a then b then a", (0, 1, 0), (500, 500, 500), (100, 100, 100), ((), (0,), (1,)), ("a", "b", "a")
    ),
    WorkflowSpec("fork", "do b and a", (1, 0), (500, 500), (100, 100), ((), ()), ("b", "a")),
]


def tiny_env(seed: int = 0) -> WorkflowEnv:
    return WorkflowEnv(world=tiny_world(), task_source=TINY_WORKFLOWS)


def greedy_choices(model, masked: bool, episodes: int = 40) -> np.ndarray:
    env = tiny_env()
    choices = []
    for seed in range(episodes):
        obs, _ = env.reset(seed=10_000 + seed)
        while True:
            kwargs = {"action_masks": obs["action_mask"].astype(bool)} if masked else {}
            action, _ = model.predict(obs, deterministic=True, **kwargs)
            choices.append(int(action))
            obs, _, terminated, truncated, _ = env.step(int(action))
            if terminated or truncated:
                break
    return np.array(choices)


def _venv(seed: int) -> DummyVecEnv:
    venv = DummyVecEnv([tiny_env for _ in range(4)])
    venv.seed(seed)
    return venv


def test_the_tiny_worlds_optimum_is_the_good_model():
    # the premise of the learning tests, checked with the world's own numbers
    world = tiny_world()
    env = tiny_env()
    env.reset(seed=0)
    for t in range(world.n_types):
        utility = [
            world.skill[t, m] - env.cost_weight * world.expected_cost(m, 500, 100) if world.capable[t, m] else -np.inf
            for m in range(world.n_models)
        ]
        assert int(np.argmax(utility)) == GOOD


@pytest.mark.slow
@pytest.mark.parametrize("algo_name", ["ppo_multi_input", "maskable_ppo", "ppo_planner_policy"])
def test_agents_learn_the_known_optimum_of_a_tiny_world(algo_name: str):
    from sb3_contrib import MaskablePPO
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    settings = {"n_steps": 128, "batch_size": 128, "learning_rate": 3e-3, "ent_coef": 0.0, "seed": 0, "verbose": 0}
    if algo_name == "ppo_multi_input":  # no mask: it must learn to avoid the incapable specialist too
        model = PPO("MultiInputPolicy", _venv(0), **settings)
    elif algo_name == "maskable_ppo":
        model = MaskablePPO("MultiInputPolicy", _venv(0), **settings)
    else:
        from orchestai.planner.model import PlannerConfig
        from orchestai.policies.planner_policy import PlannerPolicy, planner_policy_kwargs_for_world

        kwargs = planner_policy_kwargs_for_world(tiny_world(), PlannerConfig(d_model=16, n_heads=2))
        model = PPO(PlannerPolicy, _venv(0), policy_kwargs=kwargs, **settings)
    model.learn(6144)
    choices = greedy_choices(model, masked=algo_name == "maskable_ppo")
    assert np.mean(choices == GOOD) >= 0.95, np.bincount(choices, minlength=4)


@pytest.mark.slow
def test_rl_zoo3_trains_from_the_yaml_file(tmp_path: Path):
    pytest.importorskip("rl_zoo3", reason="rl_zoo3 is in the [dev] extra")
    root = Path(__file__).resolve().parent.parent
    command = [
        sys.executable, "-m", "rl_zoo3.train", "--algo", "ppo", "--env", WORKFLOW_ENV_ID,
        "--gym-packages", "orchestai.policies", "--conf-file", str(root / "hyperparams" / "ppo.yml"),
        "-n", "1024", "-f", str(tmp_path), "--seed", "0", "--eval-freq", "-1",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    saved = list(tmp_path.glob("ppo/orchestai-Workflow-v0_1/orchestai-Workflow-v0.zip"))
    assert len(saved) == 1
    monitor = np.loadtxt(next(tmp_path.glob("ppo/orchestai-Workflow-v0_1/*.monitor.csv")), delimiter=",", skiprows=2)
    assert len(monitor) > 0  # episodes were run and logged
    enjoy = subprocess.run(
        [sys.executable, "-m", "rl_zoo3.enjoy", "--algo", "ppo", "--env", WORKFLOW_ENV_ID, "--gym-packages", "orchestai.policies",
         "-f", str(tmp_path), "-n", "50", "--no-render", "--deterministic"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert enjoy.returncode == 0, enjoy.stderr[-2000:]
