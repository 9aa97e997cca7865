"""Bad input gets a one-line error naming the file and the record/field (or the config key), never a traceback.

Each class of failure from the reliability issue is parametrised over many inputs: bad
log records (values that overflow float32, fields that contradict the calls, calls out
of order), unusable files (empty, a folder, not UTF-8, nested too deeply, huge numbers,
a FIFO), bad flags and env kwargs, unusable checkpoints, malformed RouterBench and
TaskBench files. CLIs are called in-process (fast) and, where the process itself
matters (a FIFO must not hang), as subprocesses.
"""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import pytest
import torch

import orchestai  # noqa: F401
from orchestai.configuration import ConfigError
from orchestai.data import validate as validate_cli
from orchestai.envs.routerbench_data import load_routerbench_folder
from orchestai.evaluate import __main__ as evaluate_cli
from orchestai.logs.io import write_logs
from orchestai.logs.schema import LogValidationError
from orchestai.phase1 import train as phase1_cli
from orchestai.phase2 import ppo as phase2_cli
from orchestai.plan import __main__ as plan_cli
from orchestai.planner.checkpoint import save_checkpoint
from orchestai.planner.model import PlannerConfig, PlannerModel
from orchestai.planner.vocabulary import vocabulary_for_world
from orchestai.world.world import World


def _one_line_error(capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith(("error:", "invalid:"))]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# ---------------------------------------------------------------------------- log records
def _mutations() -> dict[str, tuple[Callable[[dict], None], str]]:
    def cost(record: dict, value: float) -> None:
        record["outcome"]["total_cost_usd"] += value - record["execution"][0]["cost_usd"]
        record["execution"][0]["cost_usd"] = value

    def more_subtasks(record: dict) -> None:
        extra = copy.deepcopy(record["subtasks"][-1])
        for k in range(40):
            record["subtasks"].append({**extra, "id": f"x{k}", "depends_on": [], "model": None})

    def out_of_order(record: dict) -> None:
        record["execution"][0]["attempt"] = 2

    def after_success(record: dict) -> None:
        first = record["execution"][0]
        assert first["success"]
        record["execution"].insert(1, {**first, "attempt": 2})
        record["outcome"]["total_cost_usd"] += first["cost_usd"]

    return {
        "cost 1e300": (lambda r: cost(r, 1e300), "execution[0].cost_usd"),
        "cost NaN": (lambda r: r["execution"][0].update(cost_usd=math.nan), "execution[0].cost_usd"),
        "negative cost": (lambda r: cost(r, -5.0), "execution[0].cost_usd"),
        "tokens 1e30": (lambda r: r["subtasks"][0].update(input_tokens=10**30), "subtasks[0].input_tokens"),
        "negative output tokens": (lambda r: r["subtasks"][0].update(output_tokens=-3), "subtasks[0].output_tokens"),
        "latency 1e30": (lambda r: r["execution"][0].update(latency_s=1e30), "execution[0].latency_s"),
        "more subtasks than the env holds": (more_subtasks, "field subtasks"),
        "outcome success contradicts the calls": (
            lambda r: r["outcome"].update(success=not r["outcome"]["success"]),
            "outcome.success",
        ),
        "makespan contradicts the calls": (
            lambda r: r["outcome"].update(makespan_s=r["outcome"]["makespan_s"] + 50),
            "outcome.makespan_s",
        ),
        "latency contradicts start and end": (
            lambda r: r["execution"][0].update(latency_s=r["execution"][0]["latency_s"] + 3),
            "execution[0].latency_s",
        ),
        "subtask model contradicts its first call": (
            lambda r: r["subtasks"][0].update(
                model="claude-v1" if r["subtasks"][0]["model"] != "claude-v1" else "gpt-4-1106-preview"
            ),
            "subtasks[0].model",
        ),
        "attempts out of order": (out_of_order, "execution[0].attempt"),
        "a call after the subtask succeeded": (after_success, "execution[1].subtask"),
        "empty instruction": (lambda r: r.update(instruction="   "), "field instruction"),
        "unknown task type": (lambda r: r["subtasks"][0].update(type="juggling"), "subtasks[0].type"),
        "unknown model": (lambda r: r["execution"][0].update(model="gpt-17"), "execution[0].model"),
        "a dependency cycle": (lambda r: r["subtasks"][0].update(depends_on=[r["subtasks"][-1]["id"]]), "depends_on"),
        "schema version": (lambda r: r.update(schema_version=7), "schema_version"),
    }


MUTATIONS = _mutations()


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
    line = _one_line_error(capsys, str(path), field)
    assert f"record {records.index(target)} " in line


def test_an_incapable_model_that_succeeds_is_blamed_on_its_own_record(world: World, small_logs: list[dict], tmp_path: Path):
    records = copy.deepcopy(small_logs[:6])
    call = records[4]["execution"][0]
    type_name = next(s["type"] for s in records[4]["subtasks"] if s["id"] == call["subtask"])
    incapable = next(m for m in world.model_names if not world.capable[world.type_index[type_name], world.model_index[m]])
    call["model"] = incapable
    records[4]["subtasks"][[s["id"] for s in records[4]["subtasks"]].index(call["subtask"])]["model"] = incapable
    path = tmp_path / "logs.jsonl"
    write_logs(path, records)
    from orchestai.logs.io import load_logs

    with pytest.raises(LogValidationError) as raised:
        load_logs(path, world)
    assert raised.value.record == 4 and raised.value.field == "execution[0].model"


# ---------------------------------------------------------------------------- unusable files
def _file_cases(tmp: Path) -> dict[str, tuple[Path, str]]:
    cases = {}
    (tmp / "empty.jsonl").write_text("")
    cases["empty file"] = (tmp / "empty.jsonl", "empty file")
    (tmp / "empty_list.json").write_text("[]")
    cases["empty JSON list"] = (tmp / "empty_list.json", "empty JSON list")
    (tmp / "folder.jsonl").mkdir()
    cases["a folder"] = (tmp / "folder.jsonl", "is a folder")
    (tmp / "latin1.jsonl").write_bytes('{"instruction": "caf\xe9"}\n'.encode("latin-1"))
    cases["not UTF-8"] = (tmp / "latin1.jsonl", "not UTF-8")
    (tmp / "nested.json").write_text("[" * 100_000 + "]" * 100_000)
    cases["nested too deeply"] = (tmp / "nested.json", "nested too deeply")
    (tmp / "digits.jsonl").write_text('{"schema_version": ' + "9" * 5000 + "}\n")
    cases["a 5,000-digit integer"] = (tmp / "digits.jsonl", "line 1")
    (tmp / "broken.jsonl").write_text('{"schema_version": 1,\n')
    cases["malformed JSON"] = (tmp / "broken.jsonl", "malformed JSON")
    cases["missing"] = (tmp / "nope.jsonl", "file not found")
    return cases


FILE_CASES = (
    "empty file",
    "empty JSON list",
    "a folder",
    "not UTF-8",
    "nested too deeply",
    "a 5,000-digit integer",
    "malformed JSON",
    "missing",
)


@pytest.mark.parametrize("case", FILE_CASES)
def test_an_unusable_log_file_is_one_line_naming_it(case: str, tmp_path: Path, capsys):
    path, problem = _file_cases(tmp_path)[case]
    assert validate_cli.main([str(path)]) == 1
    _one_line_error(capsys, str(path), problem)


def test_a_fifo_is_refused_at_once_instead_of_hanging(tmp_path: Path):
    fifo = tmp_path / "logs.jsonl"
    os.mkfifo(fifo)
    for command in (
        ["orchestai.data.validate", str(fifo)],
        ["orchestai.phase1.train", "--data", str(fifo), "--out-dir", str(tmp_path / "o")],
    ):
        result = subprocess.run([sys.executable, "-m", *command], capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode != 0 and "Traceback" not in result.stderr
        assert "not a regular file" in result.stderr and str(fifo) in result.stderr


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "missing required key"),
        ("epochs: [1, 2]", "epochs: expected an integer"),
        ("epochs: " + "9" * 5000, "unusable YAML value"),
        ("model: {n_heads: 0}", "model.n_heads: must be >= 1"),
        ("model: {d_model: 64, n_heads: 5}", "model.n_heads: must divide d_model"),
        ("{{{", "invalid YAML"),
        ("[" * 5000, "nested too deeply"),
        ("nonsense_key: 1", "unknown key"),
    ],
)
def test_a_bad_config_file_names_file_and_key(text: str, problem: str, tmp_path: Path, capsys):
    path = tmp_path / "phase1.yaml"
    if problem != "missing required key":
        path.write_text(text)
    else:
        path = tmp_path / "absent.yaml"
        problem = "file not found"
    assert phase1_cli.main(["--config", str(path)]) == 2
    _one_line_error(capsys, str(path), problem)


# ---------------------------------------------------------------------------- flags and env kwargs
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
    _one_line_error(capsys, key)
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
    _one_line_error(capsys, key)


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


# ---------------------------------------------------------------------------- checkpoints
def _checkpoint_cases(tmp: Path, world: World) -> dict[str, tuple[Path, str]]:
    model = PlannerModel(PlannerConfig(d_model=16, n_heads=2, slot_layers=1, conv_layers=1), vocabulary_for_world(world))
    good = save_checkpoint(tmp / "good.pth", model, None, epoch=1, val_loss=1.0)
    data = torch.load(good, weights_only=True)
    cases: dict[str, tuple[Path, str]] = {"missing": (tmp / "nope.pth", "not found")}
    (tmp / "text.pth").write_text("not a checkpoint")
    cases["a text file"] = (tmp / "text.pth", "not a readable planner checkpoint")
    (tmp / "folder.pth").mkdir()
    cases["a folder"] = (tmp / "folder.pth", "is a folder")
    missing = dict(data)
    missing.pop("model_state_dict")
    torch.save(missing, tmp / "missing_keys.pth")
    cases["missing keys"] = (tmp / "missing_keys.pth", "missing model_state_dict")
    shapes = copy.deepcopy(data)
    name = next(k for k, v in shapes["model_state_dict"].items() if v.ndim == 2)
    shapes["model_state_dict"][name] = torch.zeros(3, 3)
    torch.save(shapes, tmp / "shapes.pth")
    cases["mismatched shapes"] = (tmp / "shapes.pth", "weights do not fit")
    bad_config = copy.deepcopy(data)
    bad_config["planner_config"]["n_heads"] = 0
    torch.save(bad_config, tmp / "config.pth")
    cases["an invalid stored config"] = (tmp / "config.pth", "planner_config.n_heads")
    return cases


CHECKPOINT_CASES = ("missing", "a text file", "a folder", "missing keys", "mismatched shapes", "an invalid stored config")


@pytest.mark.parametrize("case", CHECKPOINT_CASES)
@pytest.mark.parametrize("cli", ["plan", "phase2 --init", "evaluate --phase1", "phase1 --resume"])
def test_an_unusable_checkpoint_names_the_file(
    case: str, cli: str, world: World, small_log_file: Path, tmp_path: Path, capsys
):
    path, problem = _checkpoint_cases(tmp_path, world)[case]
    out = str(tmp_path / "out")
    if cli == "plan":
        code = plan_cli.main(["summarise the report", "--checkpoint", str(path)])
    elif cli == "phase2 --init":
        code = phase2_cli.main(["--init", str(path), "--out-dir", out])
    elif cli == "evaluate --phase1":
        code = evaluate_cli.main(["--phase1", str(path), "--episodes", "1", "--out-dir", out])
    else:
        code = phase1_cli.main(["--data", str(small_log_file), "--resume", str(path), "--out-dir", out])
    assert code == 2
    _one_line_error(capsys, str(path), problem)


def test_a_missing_zip_is_named_as_given(tmp_path: Path, capsys):
    assert evaluate_cli.main(["--ppo", str(tmp_path / "nope.zip"), "--episodes", "1", "--out-dir", str(tmp_path / "o")]) == 2
    line = _one_line_error(capsys, "nope.zip: file not found")
    assert "nope.zip.zip" not in line


# ---------------------------------------------------------------------------- RouterBench and TaskBench files
HEADER = "sample_id,prompt,eval_name,model-a,model-a|total_cost,model-b,model-b|total_cost\n"


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


def test_a_non_utf8_or_missing_routerbench_folder_is_a_clear_error(tmp_path: Path, capsys):
    (tmp_path / "bench.csv").write_bytes((HEADER + "s0,caf\xe9,quiz,1,0.1,0,0.2\n").encode("latin-1"))
    with pytest.raises(LogValidationError, match="bench.csv: not UTF-8"):
        load_routerbench_folder(tmp_path)
    empty = tmp_path / "none"
    empty.mkdir()
    assert (
        evaluate_cli.main(["--env", "orchestai/RouterBench-v0", "--data-dir", str(empty), "--out-dir", str(tmp_path / "o")])
        == 2
    )
    _one_line_error(capsys, str(empty), "no RouterBench CSV files")


@pytest.mark.parametrize(
    ("catalogue", "problem"),
    [
        ("{not json", "malformed JSON"),
        ('{"nodes": "everything"}', "nodes"),
        ('{"nodes": [{"name": "no id"}]}', "nodes[0].id"),
        ('{"nodes": [{"id": "a"}, {"id": "a"}]}', "duplicate tool id"),
        ("[" * 50_000, "nested too deeply"),
    ],
)
def test_a_malformed_tool_catalogue_names_the_file(catalogue: str, problem: str, tmp_path: Path, capsys):
    (tmp_path / "data.json").write_text(
        json.dumps([{"id": "r0", "user_request": "x", "task_nodes": [{"task": "a"}], "task_links": []}])
    )
    (tmp_path / "tool_desc.json").write_text(catalogue)
    assert (
        phase1_cli.main(["--format", "taskbench", "--data", str(tmp_path / "data.json"), "--out-dir", str(tmp_path / "o")])
        == 2
    )
    _one_line_error(capsys, "tool_desc.json", problem)
