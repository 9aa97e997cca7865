"""Phase 2: PlannerPolicy initialisation, tiny PPO runs, the DAG-loss monitor, and the CLI end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from stable_baselines3.common.env_util import make_vec_env

from orchestai.configuration import from_mapping
from orchestai.envs import WORKFLOW_ENV_ID
from orchestai.phase1.config import Phase1Config
from orchestai.phase1.trainer import Phase1Trainer
from orchestai.phase2.build import build_model, monitor_data, phase1_config_of, phase1_plan_split
from orchestai.phase2.config import Phase2Config
from orchestai.phase2.monitor import DagLossMonitor
from orchestai.planner.checkpoint import load_planner, read_checkpoint
from orchestai.planner.routing import model_features
from orchestai.world.world import World


@pytest.fixture(scope="module")
def phase1_checkpoint(tmp_path_factory: pytest.TempPathFactory, small_log_file: Path) -> Path:
    out = tmp_path_factory.mktemp("phase1")
    config = from_mapping(
        Phase1Config,
        {
            "data": str(small_log_file),
            "out_dir": str(out),
            "epochs": 2,
            "batch_size": 8,
            "progress": False,
            "learning_rate": 3e-3,
            "model": {"d_model": 32, "slot_layers": 1, "conv_layers": 1, "n_heads": 2},
        },  # fmt: skip
        "test",
    )
    assert Phase1Trainer(config, log=lambda *_: None).run() == 0
    return out / "phase1_best_model_40.pth"


def _phase2(**overrides) -> Phase2Config:
    base = {
        "timesteps": 512,
        "n_envs": 2,
        "n_steps": 128,
        "batch_size": 128,
        "n_epochs": 2,
        "eval_episodes": 0,
        "progress": False,
    }
    base.update(overrides)
    return from_mapping(Phase2Config, base, "test")


@pytest.mark.parametrize("masked", [False, True])
def test_policy_starts_exactly_as_the_phase1_planner(phase1_checkpoint: Path, world: World, masked: bool):
    venv = make_vec_env(WORKFLOW_ENV_ID, n_envs=3, seed=4)
    model = build_model(_phase2(init=str(phase1_checkpoint), masked=masked), venv, world)
    planner, _ = load_planner(phase1_checkpoint)
    # Phase 1 trained the routing branches too (they start at zero), so they are compared as well
    assert planner.routing is not None
    assert planner.routing.execution_branch[-1].weight.abs().sum() > 0
    assert planner.routing.model_branch[-1].weight.abs().sum() > 0
    obs = venv.reset()
    for _ in range(5):  # a few different decisions, retries and health included
        tensors = model.policy.obs_to_tensor(obs)[0]
        with torch.no_grad():
            probabilities = model.policy.get_distribution(tensors).distribution.probs
            expected = torch.softmax(planner.routing_logits(tensors)[0], dim=1)
        torch.testing.assert_close(probabilities, expected, atol=1e-6, rtol=1e-5)
        actions = np.array([int(np.flatnonzero(m)[-1]) for m in obs["action_mask"]])
        obs, *_ = venv.step(actions)


@pytest.mark.slow
def test_model_branch_scores_every_model_with_the_same_function(phase1_checkpoint: Path, world: World):
    # what a model's estimates and health say about it must not depend on its position:
    # swapping two models' rows swaps their scores and leaves the others unchanged
    venv = make_vec_env(WORKFLOW_ENV_ID, n_envs=2, seed=1)
    model = build_model(_phase2(init=str(phase1_checkpoint)), venv, world)
    assert model.policy.planner.routing is not None
    branch = model.policy.planner.routing.model_branch
    torch.manual_seed(0)
    torch.nn.init.normal_(branch[-1].weight)  # zero at initialisation: give it something to compute
    tensors = model.policy.obs_to_tensor(venv.reset())[0]
    tensors["model_health"] = torch.rand_like(tensors["model_health"])
    with torch.no_grad():
        scores = branch(model_features(tensors)).squeeze(-1)
        swapped = {key: value.clone() for key, value in tensors.items()}
        for key in ("model_estimates", "model_health"):
            swapped[key][:, [0, 5]] = tensors[key][:, [5, 0]]
        swapped_scores = branch(model_features(swapped)).squeeze(-1)
    assert not torch.allclose(scores[:, 0], scores[:, 5])
    torch.testing.assert_close(swapped_scores[:, [5, 0]], scores[:, [0, 5]])
    torch.testing.assert_close(swapped_scores[:, 1:5], scores[:, 1:5])


def test_tiny_ppo_run_saves_reloads_and_acts(phase1_checkpoint: Path, world: World, tmp_path: Path):
    from sb3_contrib import MaskablePPO
    from stable_baselines3 import PPO

    for masked, algo in ((False, PPO), (True, MaskablePPO)):
        venv = make_vec_env(WORKFLOW_ENV_ID, n_envs=2, seed=0)
        model = build_model(_phase2(init=str(phase1_checkpoint), masked=masked), venv, world)
        model.learn(2048)
        path = tmp_path / f"model_{masked}.zip"
        model.save(path)
        reloaded = algo.load(path, device="cpu")  # no Phase 1 file needed
        obs = venv.reset()
        kwargs = {"action_masks": obs["action_mask"].astype(bool)} if masked else {}
        a, _ = model.predict(obs, deterministic=True, **kwargs)
        b, _ = reloaded.predict(obs, deterministic=True, **kwargs)
        np.testing.assert_array_equal(a, b)
        assert all(obs["action_mask"][i, a[i]] for i in range(len(a)))  # only capable models


@pytest.mark.parametrize("schedule", ["constant", "linear"])
def test_learning_rate_schedule(world: World, schedule: str):
    from stable_baselines3.common.callbacks import BaseCallback

    class RecordRate(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.rates: list[float] = []

        def _on_rollout_start(self) -> None:
            self.rates.append(self.model.policy.optimizer.param_groups[0]["lr"])

        def _on_step(self) -> bool:
            return True

    venv = make_vec_env(WORKFLOW_ENV_ID, n_envs=2, seed=0)
    model = build_model(_phase2(learning_rate=1e-3, lr_schedule=schedule), venv, world)
    recorder = RecordRate()
    model.learn(512, callback=recorder)  # two rollouts of 2 x 128 steps, an update after each
    rates = recorder.rates + [model.policy.optimizer.param_groups[0]["lr"]]
    expected = [1e-3, 1e-3, 1e-3] if schedule == "constant" else [1e-3, 0.5e-3, 0.0]
    assert rates == pytest.approx(expected)


@pytest.mark.slow
@pytest.mark.parametrize("masked", [False, True])
def test_auxiliary_planner_loss_trains_the_graph_head_and_is_not_saved(
    phase1_checkpoint: Path, world: World, tmp_path: Path, masked: bool
):
    from sb3_contrib import MaskablePPO
    from stable_baselines3 import PPO

    from orchestai.phase2.auxiliary import MaskablePlannerPPO, PlannerPPO

    runs = {}
    for aux_coef in (0.0, 0.5):
        venv = make_vec_env(WORKFLOW_ENV_ID, n_envs=2, seed=0)
        model = build_model(_phase2(init=str(phase1_checkpoint), masked=masked, aux_coef=aux_coef, aux_steps=2), venv, world)
        before = model.policy.planner.edge_parent.weight.detach().clone()
        model.learn(512)
        runs[aux_coef] = (model, before)
    plain, aux = runs[0.0][0], runs[0.5][0]
    assert type(plain) is (MaskablePPO if masked else PPO)
    assert type(aux) is (MaskablePlannerPPO if masked else PlannerPPO)
    # PPO alone never reaches the graph head (the selector does not read it); the auxiliary loss does
    assert torch.equal(runs[0.0][1], plain.policy.planner.edge_parent.weight)
    assert not torch.equal(runs[0.5][1], aux.policy.planner.edge_parent.weight)
    assert np.isfinite(aux.logger.name_to_value["planner/aux_loss"])  # recorded by the last update, not yet dumped
    path = tmp_path / "aux.zip"
    aux.save(path)
    reloaded = (MaskablePPO if masked else PPO).load(path, device="cpu")
    assert not hasattr(reloaded, "aux_data")
    torch.testing.assert_close(reloaded.policy.planner.edge_parent.weight, aux.policy.planner.edge_parent.weight)


@pytest.fixture(scope="module")
def trained_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A planner whose graph head has learnt something (12 epochs on the default synthetic logs)."""
    out = tmp_path_factory.mktemp("trained")
    config = from_mapping(Phase1Config, {"out_dir": str(out), "epochs": 12, "patience": 12, "progress": False}, "test")
    assert Phase1Trainer(config, log=lambda *_: None).run() == 0
    return out / "phase1_best_model_1000.pth"


def _monitored_run(checkpoint: Path, world: World, learning_rate: float) -> DagLossMonitor:
    venv = make_vec_env(WORKFLOW_ENV_ID, n_envs=2, seed=0)
    model = build_model(_phase2(init=str(checkpoint), learning_rate=learning_rate), venv, world)
    validation = phase1_plan_split(phase1_config_of(read_checkpoint(checkpoint)))[1]
    data, gold = monitor_data(validation, world, 40)
    monitor = DagLossMonitor(data, gold, check_every=256, max_dag_loss=0.05, max_edge_f1_drop=0.05, patience=2)
    model.learn(3072, callback=monitor)
    monitor.final_timesteps = model.num_timesteps
    return monitor


@pytest.mark.slow
def test_monitor_stops_a_run_with_an_absurd_learning_rate(trained_checkpoint: Path, world: World):
    monitor = _monitored_run(trained_checkpoint, world, learning_rate=1.0)
    assert monitor.initial["edge_f1"] > 0.3  # the graph head had something to lose
    assert monitor.stop_reason is not None and "stopped at" in monitor.stop_reason
    assert monitor.final_timesteps < 3072
    bad = monitor.history[-1]
    assert bad["dag_loss"] > 0.05 or bad["edge_f1"] < monitor.initial["edge_f1"] - 0.05


@pytest.mark.slow
def test_monitor_does_not_stop_a_normal_run(trained_checkpoint: Path, world: World):
    monitor = _monitored_run(trained_checkpoint, world, learning_rate=3e-4)
    assert monitor.stop_reason is None
    assert monitor.final_timesteps >= 3072
    assert len(monitor.history) >= 5


@pytest.mark.slow
def test_ppo_cli_end_to_end(phase1_checkpoint: Path, tmp_path: Path):
    out = tmp_path / "ppo"
    command = [
        sys.executable, "-m", "orchestai.phase2.ppo", "--init", str(phase1_checkpoint), "--timesteps", "1024",
        "--n-envs", "2", "--n-steps", "256", "--batch-size", "128", "--eval-episodes", "20", "--out-dir", str(out),
        "--no-progress", "--monitor-every", "512", "--monitor-logs", "20", "--curve-every", "512", "--curve-episodes", "3",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (out / "ppo_model.zip").exists() and (out / "progress.csv").exists()
    rows = json.loads((out / "evaluation.json").read_text())
    assert [r["policy"] for r in rows] == [
        "random", "best_expected_utility", "error_aware_expected_utility", "oracle", "phase1", "ppo",
    ]  # fmt: skip
    assert all(r["episodes"] == 20 for r in rows)
    curve = np.load(out / "evaluations.npz")
    assert curve["timesteps"].tolist() == [0, 512, 1024] and curve["results"].shape == (3, 3)
    planner = torch.load(out / "phase2_planner.pth", weights_only=True)
    assert planner["epoch"] >= 1024
    plan = subprocess.run(
        [sys.executable, "-m", "orchestai.plan", "Step 1: caption the street photo. Step 2: translate the text into German using step 1.",
         "--checkpoint", str(out / "phase2_planner.pth")],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert plan.returncode == 0, plan.stderr
    planned = json.loads(plan.stdout)  # a 2-epoch planner may plan nothing yet: check the format
    assert planned["instruction"].startswith("Step 1") and isinstance(planned["subtasks"], list)
    evaluate = subprocess.run(
        [sys.executable, "-m", "orchestai.evaluate", "--episodes", "10", "--ppo", str(out / "ppo_model.zip"),
         "--phase1", str(phase1_checkpoint), "--out-dir", str(tmp_path / "eval")],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert evaluate.returncode == 0, evaluate.stderr[-3000:]
    assert "oracle" in evaluate.stdout and "phase1" in evaluate.stdout
    assert (tmp_path / "eval" / "cost_vs_success.png").stat().st_size > 1000


def test_learning_curve_evaluates_the_same_workflows_every_time(phase1_checkpoint: Path, world: World):
    from stable_baselines3.common.callbacks import EvalCallback
    from stable_baselines3.common.logger import configure

    from orchestai.phase2.learning_curve import SeededEvalCallback

    model = build_model(_phase2(init=str(phase1_checkpoint)), make_vec_env(WORKFLOW_ENV_ID, n_envs=2, seed=0), world)
    model.set_logger(configure(None, []))
    results = {}
    for name, callback in (
        ("seeded", SeededEvalCallback(make_vec_env(WORKFLOW_ENV_ID, n_envs=1), 123, n_eval_episodes=6, eval_freq=1)),
        ("plain", EvalCallback(make_vec_env(WORKFLOW_ENV_ID, n_envs=1, seed=123), n_eval_episodes=6, eval_freq=1)),
    ):
        callback.init_callback(model)
        rewards = []
        for _ in range(2):  # two evaluations of the same (unchanged) policy
            callback.on_step()
            rewards.append(callback.last_mean_reward)
        results[name] = rewards
    assert results["seeded"][0] == results["seeded"][1]
    assert results["plain"][0] != results["plain"][1]  # without reseeding, other workflows each time


def test_init_by_bare_name_finds_phase1s_default_out_dir_or_says_where_it_looked(
    phase1_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import shutil

    from orchestai.phase2.build import resolve_init_path
    from orchestai.planner.checkpoint import CheckpointError

    monkeypatch.chdir(tmp_path)
    (tmp_path / "checkpoints").mkdir()
    shutil.copy(phase1_checkpoint, tmp_path / "checkpoints" / "phase1_best_model_40.pth")
    assert resolve_init_path("phase1_best_model_40.pth") == Path("checkpoints") / "phase1_best_model_40.pth"
    with pytest.raises(CheckpointError, match=r"phase1_best_model_1000.pth: checkpoint not found \(looked at .*checkpoints/"):
        resolve_init_path("phase1_best_model_1000.pth")
