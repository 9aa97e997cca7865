"""Class 4, validation gaps: records, flags, env kwargs and recorded data that would reach training are refused, naming file, record and field (or the key)."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import gymnasium as gym
import pytest

import orchestai  # noqa: F401
from benchmarks.reliability_probe import log_mutations
from orchestai.configuration import ConfigError
from orchestai.data import validate as validate_cli
from orchestai.envs.routerbench_data import load_routerbench_folder
from orchestai.logs.schema import LogValidationError
from orchestai.phase1 import train as phase1_cli
from orchestai.phase2 import ppo as phase2_cli

from .reliability_helpers import HEADER, one_line_error

MUTATIONS = log_mutations()


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_a_bad_record_names_file_record_and_field(case: str, small_logs: list[dict], tmp_path: Path, capsys):
    mutate, field = MUTATIONS[case]
    records = copy.deepcopy(small_logs[:5])
    # record 3 is the bad one: the message must name it, not a neighbour
    target = next(r for r in records[3:] if r["execution"] and r["execution"][0]["success"])
    mutate(target)
    path = tmp_path / "logs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    assert validate_cli.main([str(path)]) == 1
    line = one_line_error(capsys, str(path), field)
    assert f"record {records.index(target)} " in line


@pytest.mark.parametrize(
    ("flags", "key"),
    [
        (["--ent-coef", "-1"], "ent_coef"),
        (["--hidden", "0"], "hidden"),
        (["--cost-weight", "1e300"], "cost_weight"),
        (["--success-bonus", "nan"], "success_bonus"),
        (["--latency-weight", "-0.1"], "latency_weight"),
        (["--n-envs", "0"], "n_envs"),
        (["--learning-rate", "inf"], "learning_rate"),
        (["--gamma", "1.5"], "gamma"),
        (["--vec-env", "threads"], "vec_env"),
        (["--lr-schedule", "cosine"], "lr_schedule"),
    ],
)
def test_a_bad_phase2_flag_names_the_key(flags: list[str], key: str, tmp_path: Path, capsys):
    assert phase2_cli.main([*flags, "--out-dir", str(tmp_path / "out")]) == 2
    one_line_error(capsys, key)
    assert not (tmp_path / "out").exists()  # nothing written for a refused command


@pytest.mark.parametrize(
    ("flags", "key"),
    [
        (["--model-n-heads", "0"], "model.n_heads"),
        (["--model-d-model", "4"], "model.d_model"),
        (["--val-fraction", "2"], "val_fraction"),
        (["--epochs", "0"], "epochs"),
        (["--batch-size", "-1"], "batch_size"),
        (["--format", "csv"], "format"),
        (["--lambda-dag", "-1"], "lambda_dag"),
    ],
)
def test_a_bad_phase1_flag_names_the_key(flags: list[str], key: str, tmp_path: Path, capsys):
    assert phase1_cli.main([*flags, "--out-dir", str(tmp_path / "out")]) == 2
    one_line_error(capsys, key)


@pytest.mark.parametrize(
    ("env_id", "kwargs", "key"),
    [
        ("orchestai/Workflow-v0", {"cost_weight": -1.0}, "cost_weight"),
        ("orchestai/Workflow-v0", {"success_bonus": math.nan}, "success_bonus"),
        ("orchestai/Workflow-v0", {"max_retries": 2.7}, "max_retries"),
        ("orchestai/Workflow-v0", {"max_retries": -1}, "max_retries"),
        ("orchestai/Workflow-v0", {"cost_budget_usd": 0.0}, "cost_budget_usd"),
        ("orchestai/Workflow-v0", {"latency_weight": "high"}, "latency_weight"),
        ("orchestai/Workflow-v0", {"invalid_action_latency_s": math.inf}, "invalid_action_latency_s"),
        ("orchestai/Workflow-v0", {"invalid_action_penalty": -2.0}, "invalid_action_penalty"),
        ("orchestai/RouterBench-v0", {"cost_weight": -1.0}, "cost_weight"),
        ("orchestai/RouterBench-v0", {"max_retries": "3"}, "max_retries"),
    ],
)
def test_a_bad_env_kwarg_through_gymnasium_make_names_itself(env_id: str, kwargs: dict, key: str):
    from .conftest import routerbench_toy_data

    extra = {"data": routerbench_toy_data()} if "RouterBench" in env_id else {}
    with pytest.raises(ConfigError) as raised:
        gym.make(env_id, **extra, **kwargs)
    assert raised.value.key == key and "gymnasium.make kwargs" in str(raised.value)


@pytest.mark.parametrize(
    ("rows", "problem", "field"),
    [
        ("s1,hello,quiz,1,-5,0,0.001\n", "a cost must be a finite number >= 0", "model-a|total_cost"),
        ("s1,hello,quiz,1,nan,0,0.001\n", "a cost must be a finite number >= 0", "model-a|total_cost"),
        ("s1,hello,quiz,0.5,0.001,0,0.001\n", "a score must be 0 or 1", "model-a"),
        ("s1,hello,quiz,1,cheap,0,0.001\n", "not a number", "model-a|total_cost"),
        ("s1,hello,quiz,1,0.001\n", "more or fewer cells than the header", "<row>"),
    ],
)
def test_a_bad_routerbench_csv_names_file_row_and_column(rows: str, problem: str, field: str, tmp_path: Path):
    (tmp_path / "bench.csv").write_text(HEADER + "s0,hi,quiz,1,0.001,0,0.002\n" + rows)
    with pytest.raises(LogValidationError) as raised:
        load_routerbench_folder(tmp_path)
    assert problem in raised.value.problem and raised.value.field == field and raised.value.record == 1
