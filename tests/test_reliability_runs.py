"""Training runs that are interrupted, repeated or handed a crafted file lose nothing and run no code.

* SIGINT and SIGTERM sent to real Phase 1 and Phase 2 subprocesses mid-run leave a
  loadable model, the message names it, and ``--resume`` reaches exactly the metrics of
  an uninterrupted run with the same seed;
* a run whose weights turn NaN keeps the last finite model;
* a non-empty output folder is refused unless ``--overwrite`` (or ``--resume``), and a
  folder another run is writing to is locked;
* a crafted SB3 zip (its ``data`` entry pickled to run a command) is refused, or loaded
  without unpickling, as shown by the absence of its marker file.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env

from orchestai.configuration import from_mapping
from orchestai.envs import WORKFLOW_ENV_ID
from orchestai.evaluate import __main__ as evaluate_cli
from orchestai.phase1 import train as phase1_cli
from orchestai.phase2 import ppo as phase2_cli
from orchestai.phase2.build import build_model
from orchestai.phase2.config import Phase2Config
from orchestai.phase2.guard import TrainingGuard, learn_guarded
from orchestai.phase2.saved import load_trained_model, save_run
from orchestai.planner.checkpoint import load_planner
from orchestai.rundir import LOCK_NAME
from orchestai.world.world import World

TINY_MODEL = ["--model-d-model", "32", "--model-slot-layers", "1", "--model-conv-layers", "1", "--model-n-heads", "2"]


def _phase1_flags(data: Path) -> list[str]:
    return [
        "--data",
        str(data),
        "--batch-size",
        "8",
        "--learning-rate",
        "0.003",
        "--no-progress",
        "--patience",
        "500",
        *TINY_MODEL,
    ]


def _cli(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def _unbuffered() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def _signal_when(command: list[str], ready: str, sig: signal.Signals, delay: float = 0.0) -> tuple[int, str]:
    """Run ``command``, send ``sig`` once a line starting with ``ready`` appears (plus ``delay``), return code and output."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_unbuffered())
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
    command = _cli("orchestai.phase1.train", *_phase1_flags(small_log_file), "--epochs", "500", "--out-dir", str(out))
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
        _cli("orchestai.phase1.train", *_phase1_flags(small_log_file), "--epochs", str(target), "--out-dir", str(out), "--resume", str(last)),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    reference = tmp_path / "uninterrupted"
    straight = subprocess.run(
        _cli("orchestai.phase1.train", *_phase1_flags(small_log_file), "--epochs", str(target), "--out-dir", str(reference)),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert straight.returncode == 0, straight.stderr[-2000:]
    assert _history(out / "phase1_metrics_40.json") == _history(reference / "phase1_metrics_40.json")
    a = torch.load(out / "phase1_last_model_40.pth", weights_only=True)["model_state_dict"]
    b = torch.load(reference / "phase1_last_model_40.pth", weights_only=True)["model_state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_with_changed_settings_is_an_error(tmp_path: Path, small_log_file: Path, capsys):
    out = tmp_path / "run"
    assert phase1_cli.main([*_phase1_flags(small_log_file), "--epochs", "1", "--out-dir", str(out)]) == 0
    last = str(out / "phase1_last_model_40.pth")
    capsys.readouterr()
    flags = [*_phase1_flags(small_log_file), "--epochs", "2", "--out-dir", str(out), "--resume", last]
    assert phase1_cli.main([*flags, "--learning-rate", "0.01"]) == 2
    err = capsys.readouterr().err
    assert "learning_rate: 0.003 there, 0.01 now" in err and "Traceback" not in err
    assert phase1_cli.main([*flags, "--model-d-model", "64"]) == 2
    assert "model.d_model: 32 there, 64 now" in capsys.readouterr().err


@pytest.fixture(scope="module")
def tiny_phase1(tmp_path_factory: pytest.TempPathFactory, small_log_file: Path) -> Path:
    out = tmp_path_factory.mktemp("phase1")
    assert phase1_cli.main([*_phase1_flags(small_log_file), "--epochs", "1", "--out-dir", str(out)]) == 0
    return out / "phase1_best_model_40.pth"


PHASE2_TINY = ["--n-envs", "2", "--n-steps", "128", "--batch-size", "128", "--eval-episodes", "0", "--curve-every", "0",
               "--monitor-logs", "8", "--monitor-every", "100000", "--no-progress"]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_phase2_interrupted_saves_the_model_so_far(sig: signal.Signals, tiny_phase1: Path, tmp_path: Path):
    out = tmp_path / "ppo"
    command = _cli(
        "orchestai.phase2.ppo", "--init", str(tiny_phase1), "--timesteps", "10000000", "--out-dir", str(out), *PHASE2_TINY
    )
    code, output = _signal_when(command, "phase 2:", sig, delay=4.0)
    assert code == 130, output[-2000:]
    assert "Traceback" not in output and f"interrupted ({sig.name}) at step" in output and str(out / "ppo_model.zip") in output
    model = load_trained_model(out / "ppo_model.zip")
    steps = torch.load(out / "phase2_planner.pth", weights_only=True)["epoch"]  # the step it was saved at
    assert 0 < steps < 10_000_000 and f"at step {steps}:" in output
    obs = make_vec_env(WORKFLOW_ENV_ID, n_envs=1, seed=0).reset()
    action, _ = model.predict(obs, deterministic=True)
    assert obs["action_mask"][0, int(action[0])] == 1
    assert not (out / LOCK_NAME).exists()


def _phase2_config(**overrides) -> Phase2Config:
    return from_mapping(Phase2Config, {"n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 1, **overrides}, "test")


def test_a_run_whose_weights_turn_nan_keeps_the_last_finite_model(world: World):
    model = build_model(_phase2_config(), make_vec_env(WORKFLOW_ENV_ID, n_envs=2, seed=0), world)

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


def test_a_non_empty_out_dir_is_refused_unless_overwrite(tmp_path: Path, small_log_file: Path, capsys):
    out = tmp_path / "run"
    flags = [*_phase1_flags(small_log_file), "--epochs", "1", "--out-dir", str(out)]
    assert phase1_cli.main(flags) == 0
    best = out / "phase1_best_model_40.pth"
    before = best.read_bytes()
    capsys.readouterr()
    assert phase1_cli.main(flags) == 2
    err = capsys.readouterr().err
    assert f"{out}: --out-dir is not empty" in err and "--overwrite" in err and "Traceback" not in err
    assert best.read_bytes() == before  # the first run's outputs are untouched
    (out / "phase1_best_model_999.pth").write_bytes(b"stale")
    assert phase1_cli.main([*flags, "--overwrite"]) == 0
    assert not (out / "phase1_best_model_999.pth").exists()  # a previous run's outputs do not linger


def test_an_out_dir_another_run_writes_to_is_locked(tmp_path: Path, small_log_file: Path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / LOCK_NAME).write_text(str(os.getppid()))  # a live process holds it
    assert phase1_cli.main([*_phase1_flags(small_log_file), "--epochs", "1", "--out-dir", str(out), "--overwrite"]) == 2
    assert f"another run (process {os.getppid()})" in capsys.readouterr().err
    (out / LOCK_NAME).write_text("999999999")  # its process is gone: a stale lock is taken over
    assert phase1_cli.main([*_phase1_flags(small_log_file), "--epochs", "1", "--out-dir", str(out), "--overwrite"]) == 0
    assert not (out / LOCK_NAME).exists()


@pytest.mark.parametrize("cli", ["phase1", "phase2"])
def test_an_out_dir_that_is_a_file_is_a_clear_error(cli: str, tmp_path: Path, small_log_file: Path, tiny_phase1: Path, capsys):
    target = tmp_path / "taken"
    target.write_text("a file")
    if cli == "phase1":
        code = phase1_cli.main([*_phase1_flags(small_log_file), "--epochs", "1", "--out-dir", str(target)])
    else:
        code = phase2_cli.main(["--init", str(tiny_phase1), "--timesteps", "64", "--out-dir", str(target), *PHASE2_TINY])
    assert code == 2
    assert f"{target}: --out-dir is a file, not a folder" in capsys.readouterr().err


class _RunsACommand:
    """Unpickling this runs ``touch <marker>``: what a crafted SB3 zip can do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def _crafted_copy(legit: Path, crafted: Path, marker: Path) -> None:
    with zipfile.ZipFile(legit) as source, zipfile.ZipFile(crafted, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "data":
                data = json.loads(content)
                payload = base64.b64encode(pickle.dumps(_RunsACommand(marker))).decode()
                data["policy_class"] = {":type:": "<class 'type'>", ":serialized:": payload}
                content = json.dumps(data).encode()
            target.writestr(item, content)


def test_a_crafted_zip_runs_no_code(tiny_phase1: Path, world: World, tmp_path: Path, capsys):
    config = _phase2_config(init=str(tiny_phase1))
    run = tmp_path / "run"
    run.mkdir()
    save_run(build_model(config, make_vec_env(WORKFLOW_ENV_ID, n_envs=2, seed=0), world), config, run)
    marker = tmp_path / "pwned"

    # the crafted zip alone: not a model this project wrote, so it is refused
    alone = tmp_path / "foreign"
    alone.mkdir()
    _crafted_copy(run / "ppo_model.zip", alone / "model.zip", marker)
    assert evaluate_cli.main(["--ppo", str(alone / "model.zip"), "--episodes", "1", "--out-dir", str(tmp_path / "e1")]) == 2
    err = capsys.readouterr().err
    assert "--allow-pickle" in err and str(alone / "model.zip") in err and "Traceback" not in err
    assert not marker.exists()

    # the crafted zip in place of a run's own: rebuilt from the run's files, only its tensors read
    _crafted_copy(run / "ppo_model.zip", run / "crafted.zip", marker)
    (run / "crafted.zip").replace(run / "ppo_model.zip")
    assert evaluate_cli.main(["--ppo", str(run / "ppo_model.zip"), "--episodes", "2", "--out-dir", str(tmp_path / "e2")]) == 0
    assert not marker.exists()

    # the control: SB3's own load does unpickle it (the zip really is malicious)
    from stable_baselines3 import PPO

    with pytest.raises(Exception):  # noqa: B017  (whatever SB3 makes of os.system's return value as a policy class)
        PPO.load(run / "ppo_model.zip", device="cpu")
    assert marker.exists()


def test_a_trained_model_reloads_without_unpickling_and_acts_the_same(tiny_phase1: Path, world: World, tmp_path: Path):
    config = _phase2_config(init=str(tiny_phase1), masked=True)
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
