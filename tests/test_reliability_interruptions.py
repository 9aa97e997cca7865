"""Class 2, interrupted training: SIGINT/SIGTERM to real Phase 1 and Phase 2 processes leave the last good model; resume is exact; a divergence keeps the last finite weights."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env

import orchestai  # noqa: F401
from orchestai.envs import WORKFLOW_ENV_ID
from orchestai.phase1 import train as phase1_cli
from orchestai.phase2.build import build_model
from orchestai.phase2.guard import TrainingGuard, learn_guarded
from orchestai.phase2.saved import load_trained_model
from orchestai.planner.checkpoint import load_planner
from orchestai.rundir import LOCK_NAME
from orchestai.world.world import World

from .reliability_helpers import (
    PHASE2_TINY,
    cli_command,
    phase1_flags,
    tiny_phase2_config,
    unbuffered_env,
)


def _signal_when(command: list[str], ready: str, sig: signal.Signals, delay: float = 0.0) -> tuple[int, str]:
    """Run ``command``, send ``sig`` once a line starting with ``ready`` appears (plus ``delay``), return code and output."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=unbuffered_env())
    assert process.stdout is not None
    lines = []
    deadline = time.monotonic() + 300
    for line in process.stdout:
        lines.append(line)
        if line.startswith(ready):
            time.sleep(delay)
            process.send_signal(sig)
            break
        assert time.monotonic() < deadline, "".join(lines[-20:])
    rest, _ = process.communicate(timeout=300)
    return process.returncode, "".join(lines) + rest


def _history(path: Path) -> list[dict]:
    rows = json.loads(path.read_text())["history"]
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_phase1_interrupted_keeps_the_last_epoch_and_resumes_to_the_uninterrupted_metrics(
    sig: signal.Signals, tmp_path: Path, small_log_file: Path
):
    out = tmp_path / "interrupted"
    command = cli_command("orchestai.phase1.train", *phase1_flags(small_log_file), "--epochs", "500", "--out-dir", str(out))
    code, output = _signal_when(command, "epoch   2 |", sig)
    last = out / "phase1_last_model_40.pth"
    assert code == 130, output[-2000:]
    assert "Traceback" not in output and f"is saved at {last}" in output
    _, saved = load_planner(last)  # loadable, and labelled with the epoch its weights are from
    finished = saved["epoch"]
    assert finished >= 2 and len(saved["extra"]["training_state"]["history"]) == finished
    assert not (out / LOCK_NAME).exists()

    target = finished + 2
    resumed = subprocess.run(
        cli_command("orchestai.phase1.train", *phase1_flags(small_log_file), "--epochs", str(target), "--out-dir", str(out), "--resume", str(last)),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    reference = tmp_path / "uninterrupted"
    straight = subprocess.run(
        cli_command("orchestai.phase1.train", *phase1_flags(small_log_file), "--epochs", str(target), "--out-dir", str(reference)),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert straight.returncode == 0, straight.stderr[-2000:]
    assert _history(out / "phase1_metrics_40.json") == _history(reference / "phase1_metrics_40.json")
    a = torch.load(out / "phase1_last_model_40.pth", weights_only=True)["model_state_dict"]
    b = torch.load(reference / "phase1_last_model_40.pth", weights_only=True)["model_state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_with_changed_settings_is_an_error(tmp_path: Path, small_log_file: Path, capsys):
    out = tmp_path / "run"
    assert phase1_cli.main([*phase1_flags(small_log_file), "--epochs", "1", "--out-dir", str(out)]) == 0
    last = str(out / "phase1_last_model_40.pth")
    capsys.readouterr()
    flags = [*phase1_flags(small_log_file), "--epochs", "2", "--out-dir", str(out), "--resume", last]
    assert phase1_cli.main([*flags, "--learning-rate", "0.01"]) == 2
    err = capsys.readouterr().err
    assert "learning_rate: 0.003 there, 0.01 now" in err and "Traceback" not in err
    assert phase1_cli.main([*flags, "--model-d-model", "64"]) == 2
    assert "model.d_model: 32 there, 64 now" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_phase2_interrupted_saves_the_model_so_far(sig: signal.Signals, tiny_phase1: Path, tmp_path: Path):
    out = tmp_path / "ppo"
    command = cli_command(
        "orchestai.phase2.ppo", "--init", str(tiny_phase1), "--timesteps", "10000000", "--out-dir", str(out), *PHASE2_TINY
    )
    # SB3 prints a table after every rollout: once one is out, learn() (and the signal handling) runs
    code, output = _signal_when(command, "|    total_timesteps", sig)
    assert code == 130, output[-2000:]
    assert "Traceback" not in output and f"interrupted ({sig.name}) at step" in output and str(out / "ppo_model.zip") in output
    model = load_trained_model(out / "ppo_model.zip")
    steps = torch.load(out / "phase2_planner.pth", weights_only=True)["epoch"]  # the step it was saved at
    assert 0 < steps < 10_000_000 and f"at step {steps}:" in output
    obs = make_vec_env(WORKFLOW_ENV_ID, n_envs=1, seed=0).reset()
    action, _ = model.predict(obs, deterministic=True)
    assert obs["action_mask"][0, int(action[0])] == 1
    assert not (out / LOCK_NAME).exists()


def test_a_run_whose_weights_turn_nan_keeps_the_last_finite_model(world: World):
    model = build_model(tiny_phase2_config(), make_vec_env(WORKFLOW_ENV_ID, n_envs=2, seed=0), world)

    class Poison(BaseCallback):
        """After the second rollout, the weights are NaN (as an overflowing loss would leave them)."""

        def _on_rollout_end(self) -> None:
            if self.model.num_timesteps >= 256:
                with torch.no_grad():
                    for parameter in self.model.policy.parameters():
                        parameter.fill_(float("nan"))

        def _on_step(self) -> bool:
            return True

    guard = TrainingGuard()
    diverged_at = learn_guarded(model, 2048, [guard, Poison()], guard)
    assert diverged_at is not None and diverged_at < 2048
    # the guard (listed first) took its snapshot at the end of rollout 2, just before the weights were poisoned
    assert guard.weights_finite() and guard.last_finite_timesteps == 256
