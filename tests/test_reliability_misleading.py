"""Class 6, misleading errors: the message names the right field, record and file."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

import orchestai  # noqa: F401
from orchestai.evaluate import __main__ as evaluate_cli
from orchestai.logs.io import write_logs
from orchestai.logs.schema import LogValidationError
from orchestai.world.world import World

from .reliability_helpers import (
    one_line_error,
)


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


def test_a_missing_zip_is_named_as_given(tmp_path: Path, capsys):
    assert evaluate_cli.main(["--ppo", str(tmp_path / "nope.zip"), "--episodes", "1", "--out-dir", str(tmp_path / "o")]) == 2
    line = one_line_error(capsys, "nope.zip: file not found")
    assert "nope.zip.zip" not in line
