"""Class 5, tracebacks instead of errors: unusable files, config files, checkpoints and catalogues give one line and exit 2; a FIFO does not hang."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import orchestai  # noqa: F401
from orchestai.data import validate as validate_cli
from orchestai.envs.routerbench_data import load_routerbench_folder
from orchestai.evaluate import __main__ as evaluate_cli
from orchestai.logs.schema import LogValidationError
from orchestai.phase1 import train as phase1_cli
from orchestai.phase2 import ppo as phase2_cli
from orchestai.plan import __main__ as plan_cli
from orchestai.planner.checkpoint import save_checkpoint
from orchestai.planner.model import PlannerConfig, PlannerModel
from orchestai.planner.vocabulary import vocabulary_for_world
from orchestai.world.world import World

from .reliability_helpers import HEADER, one_line_error


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
    one_line_error(capsys, str(path), problem)


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
    one_line_error(capsys, str(path), problem)


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
    one_line_error(capsys, str(path), problem)


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
    one_line_error(capsys, str(empty), "no RouterBench CSV files")


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
    one_line_error(capsys, "tool_desc.json", problem)
