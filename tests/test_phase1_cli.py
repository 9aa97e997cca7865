"""Phase 1 end to end: the CLI through subprocess, resume, non-finite loss, Ctrl-C, and `orchestai.plan`."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from orchestai.configuration import ConfigError, parse_config_args
from orchestai.logs.schema import LogValidationError
from orchestai.phase1 import trainer as phase1
from orchestai.phase1.config import DEFAULT_PHASE1_CONFIG
from orchestai.planner.checkpoint import load_planner

TINY_FLAGS = [
    "--model-d-model",
    "32",
    "--model-slot-layers",
    "1",
    "--batch-size",
    "8",
    "--no-progress",
    "--learning-rate",
    "3e-3",
]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, check=False, timeout=600)


@pytest.mark.slow
def test_cli_trains_writes_checkpoint_and_metrics(tmp_path: Path, small_log_file: Path):
    out = tmp_path / "run"
    result = _run(
        "-m", "orchestai.phase1.train", "--data", str(small_log_file), "--epochs", "3", "--out-dir", str(out), *TINY_FLAGS
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "nearest-neighbour baseline" in result.stdout
    assert result.stdout.count("epoch ") >= 3
    best = out / "phase1_best_model_40.pth"
    checkpoint = torch.load(best, weights_only=True)
    assert 1 <= checkpoint["epoch"] <= 3
    with (out / "phase1_metrics_40.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    losses = [float(r["train_loss"]) for r in rows]
    assert losses[-1] < losses[0]  # training reduced the loss
    assert json.loads((out / "phase1_metrics_40.json").read_text())["nearest_neighbour_baseline"]["valid_dag"] == 1.0

    plan = _run("-m", "orchestai.plan", "Step 1: summarise the report. Step 2: translate the text into French using step 1.",
                "--checkpoint", str(best), "--dot", str(tmp_path / "plan.dot"))  # fmt: skip
    assert plan.returncode == 0, plan.stderr
    data = json.loads(plan.stdout)
    assert data["instruction"].startswith("Step 1")
    for subtask in data["subtasks"]:
        assert {"id", "type", "depends_on", "model"} <= subtask.keys()
    assert (tmp_path / "plan.dot").read_text().startswith("digraph plan {")


def _config(tmp_path: Path, small_log_file: Path, **overrides) -> phase1.Phase1Config:
    base = {"data": str(small_log_file), "out_dir": str(tmp_path), "epochs": 2, "batch_size": 8, "progress": False,
            "learning_rate": 3e-3, "model": {"d_model": 32, "slot_layers": 1, "conv_layers": 1, "n_heads": 2}}  # fmt: skip
    base.update(overrides)
    from orchestai.configuration import from_mapping

    return from_mapping(phase1.Phase1Config, base, "test")


def test_resume_continues_from_the_saved_epoch(tmp_path: Path, small_log_file: Path):
    assert phase1.Phase1Trainer(_config(tmp_path, small_log_file), log=lambda *_: None).run() == 0
    last = tmp_path / "phase1_last_model_40.pth"
    assert torch.load(last, weights_only=True)["epoch"] == 2
    lines: list[str] = []
    config = _config(tmp_path, small_log_file, epochs=3, resume=str(last))
    assert phase1.Phase1Trainer(config, log=lines.append).run() == 0
    assert any("resuming from" in line and "at epoch 3" in line for line in lines)
    history = json.loads((tmp_path / "phase1_metrics_40.json").read_text())["history"]
    assert [row["epoch"] for row in history] == [1, 2, 3]


def test_non_finite_loss_stops_with_the_batch_and_keeps_the_best(tmp_path: Path, small_log_file: Path, monkeypatch):
    real = phase1.compute_losses
    calls = {"n": 0}

    def poisoned(model, batch, config, decisions=None):
        calls["n"] += 1
        losses = real(model, batch, config, decisions)
        if calls["n"] == 7:  # epoch 2 (4 batches of 8 per epoch), batch 3
            losses["total"] = losses["total"] * float("nan")
        return losses

    monkeypatch.setattr(phase1, "compute_losses", poisoned)
    lines: list[str] = []
    assert phase1.Phase1Trainer(_config(tmp_path, small_log_file, epochs=3), log=lines.append).run() == 1
    assert any("non-finite loss at epoch 2, batch 3" in line for line in lines)
    best = torch.load(tmp_path / "phase1_best_model_40.pth", weights_only=True)
    assert best["epoch"] == 1 and torch.isfinite(torch.tensor(best["val_loss"]))


def test_ctrl_c_saves_and_exits_cleanly(tmp_path: Path, small_log_file: Path, monkeypatch):
    real = phase1.compute_losses
    calls = {"n": 0}

    def interrupted(model, batch, config, decisions=None):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return real(model, batch, config, decisions)

    monkeypatch.setattr(phase1, "compute_losses", interrupted)
    lines: list[str] = []
    assert phase1.Phase1Trainer(_config(tmp_path, small_log_file, epochs=3), log=lines.append).run() == 130
    assert any("interrupted during epoch 2" in line for line in lines)
    model, data = load_planner(tmp_path / "phase1_best_model_40.pth")
    assert data["epoch"] == 1


def test_invalid_flag_value_names_the_key(small_log_file: Path):
    with pytest.raises(ConfigError, match=r"val_fraction: must be within \(0, 1\)"):
        parse_config_args(
            phase1.Phase1Config, DEFAULT_PHASE1_CONFIG, "phase 1", ["--data", str(small_log_file), "--val-fraction", "2"]
        )
    result = _run("-m", "orchestai.phase1.train", "--val-fraction", "2")
    assert result.returncode == 2 and "val_fraction" in result.stderr


def test_skip_invalid_reports_what_it_skipped(tmp_path: Path, small_logs: list[dict]):
    from orchestai.logs.io import write_logs

    records = [dict(r) for r in small_logs]
    records[3] = {**records[3], "subtasks": [{**records[3]["subtasks"][0], "type": "juggling"}, *records[3]["subtasks"][1:]]}
    path = tmp_path / "mixed.jsonl"
    write_logs(path, records)
    strict = _config(tmp_path / "a", path)
    with pytest.raises(LogValidationError, match="unknown task type 'juggling'"):
        phase1.Phase1Trainer(strict, log=lambda *_: None).run()
    lines: list[str] = []
    lenient = _config(tmp_path / "b", path, skip_invalid=True, epochs=1)
    assert phase1.Phase1Trainer(lenient, log=lines.append).run() == 0
    report = (tmp_path / "b" / "skipped_records.txt").read_text()
    assert "record 3" in report and "juggling" in report
    assert any("skipped 1 invalid records" in line for line in lines)


@pytest.mark.slow
def test_phase1_learns_from_the_logged_decisions_how_to_use_execution_feedback(tmp_path: Path, world):
    # the routing branches are trained on every logged call (retries after errors
    # included): with them the Phase 1 router beats its own selector alone, paired on
    # the same held-out workflows
    import copy

    import numpy as np

    from orchestai.agents.rollouts import evaluate_policy
    from orchestai.data.generate import generate_logs
    from orchestai.logs.io import write_logs
    from orchestai.policies.routers import Phase1Router

    path = tmp_path / "logs.jsonl"
    write_logs(path, generate_logs(world, n=200, seed=21))
    out = tmp_path / "out"
    config = _config(out, path, epochs=5, batch_size=16)
    assert phase1.Phase1Trainer(config, log=lambda *_: None).run() == 0
    metrics = json.loads((out / "phase1_metrics_200.json").read_text())["history"]
    assert metrics[-1]["decision_accuracy"] > 0.6 and metrics[-1]["val_decision"] < metrics[0]["val_decision"]

    planner, _ = load_planner(out / "phase1_best_model_200.pth")
    selector_only = copy.deepcopy(planner)
    for branch in (selector_only.routing.execution_branch, selector_only.routing.model_branch):
        torch.nn.init.zeros_(branch[-1].weight)
        torch.nn.init.zeros_(branch[-1].bias)
    episodes = dict(episodes=100, seed=9000, workflow_split="test")
    with_branches = evaluate_policy(Phase1Router(planner), **episodes).returns
    without = evaluate_policy(Phase1Router(selector_only), **episodes).returns
    difference = with_branches - without
    assert difference.mean() > 2 * difference.std(ddof=1) / np.sqrt(len(difference))


def test_early_stopping_on_part_of_the_training_split_leaves_the_held_out_split_unread(
    tmp_path: Path, small_log_file: Path, monkeypatch
):
    from orchestai.data.generate import template_of_log
    from orchestai.envs.workflow_env import is_held_out

    seen: list[list[str]] = []
    real = phase1.tensorize

    def recording(examples, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        seen.append([e.id for e in examples])
        return real(examples, *args, **kwargs)

    monkeypatch.setattr(phase1, "tensorize", recording)
    lines: list[str] = []
    config = _config(tmp_path, small_log_file, epochs=1, early_stop_fraction=0.25)
    assert phase1.Phase1Trainer(config, log=lines.append).run() == 0
    ids = [json.loads(line)["id"] for line in small_log_file.read_text().splitlines()]
    held_out = {i for i in ids if is_held_out(template_of_log(i) or 0)}  # the logs of Workflow-v0's test templates
    assert 0 < len(held_out) < len(ids)
    stopping = round((len(ids) - len(held_out)) * 0.25)
    assert any(f"early stopping on {stopping} records of the training split" in line for line in lines)
    read = {i for batch in seen for i in batch}
    assert read == set(ids) - held_out  # the training split (training + early-stopping records), nothing held out


def test_moving_average_of_the_weights_is_validated_kept_and_resumed(tmp_path: Path, small_log_file: Path):
    config = _config(tmp_path, small_log_file, epochs=1, ema_decay=0.9)
    assert phase1.Phase1Trainer(config, log=lambda *_: None).run() == 0
    best = torch.load(tmp_path / "phase1_best_model_40.pth", weights_only=True)
    last = torch.load(tmp_path / "phase1_last_model_40.pth", weights_only=True)
    averaged = last["extra"]["averaged_state_dict"]
    steps = int(averaged["n_averaged"])
    assert steps >= 2  # one update per batch
    assert "averaged_state_dict" not in best["extra"]  # the best checkpoint holds one set of weights
    name = "slot_queries"
    # the best model (epoch 1, the only one) is the average; the last checkpoint keeps the trained weights too
    assert torch.equal(best["model_state_dict"][name], averaged[f"module.{name}"])
    assert not torch.equal(last["model_state_dict"][name], averaged[f"module.{name}"])
    resumed = _config(tmp_path, small_log_file, epochs=2, ema_decay=0.9, resume=str(tmp_path / "phase1_last_model_40.pth"))
    assert phase1.Phase1Trainer(resumed, log=lambda *_: None).run() == 0
    again = torch.load(tmp_path / "phase1_last_model_40.pth", weights_only=True)["extra"]["averaged_state_dict"]
    assert int(again["n_averaged"]) == 2 * steps  # the average went on where the first run left it


def test_moving_average_decay_must_be_below_one(tmp_path: Path, small_log_file: Path):
    with pytest.raises(ConfigError, match="ema_decay"):
        _config(tmp_path, small_log_file, ema_decay=1.0)
