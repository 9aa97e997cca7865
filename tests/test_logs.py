from __future__ import annotations

import copy
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestai.data.generate import default_logs_file, ensure_default_logs, generate_logs
from orchestai.logs.io import load_logs, write_logs
from orchestai.logs.schema import LogValidationError
from orchestai.world.world import World


def test_generator_is_deterministic_and_seed_dependent(world: World):
    a = generate_logs(world, n=15, seed=3)
    b = generate_logs(world, n=15, seed=3)
    c = generate_logs(world, n=15, seed=4)
    assert a == b
    assert a != c
    assert all(r["source"] == "synthetic" and r["id"].startswith("synthetic-") for r in a)


def test_generated_logs_round_trip_through_both_formats(tmp_path: Path, world: World, small_logs: list[dict]):
    for name in ("logs.jsonl", "logs.json"):
        path = tmp_path / name
        write_logs(path, small_logs)
        loaded = load_logs(path, world)
        assert [log.to_dict() for log in loaded.logs] == small_logs
        assert loaded.skipped == []


def test_generated_logs_are_consistent(world: World, small_logs: list[dict]):
    for record in small_logs:
        executed = {a["subtask"] for a in record["execution"]}
        for subtask in record["subtasks"]:
            attempts = [a for a in record["execution"] if a["subtask"] == subtask["id"]]
            assert subtask["model"] == (attempts[0]["model"] if attempts else None)  # the routing choice
        assert record["outcome"]["success"] == (
            executed == {s["id"] for s in record["subtasks"]}
            and all(any(a["success"] for a in record["execution"] if a["subtask"] == s["id"]) for s in record["subtasks"])
        )
        assert record["outcome"]["makespan_s"] == pytest.approx(max(a["end_s"] for a in record["execution"]))


def _corrupt(record: dict, how: str) -> dict:
    record = copy.deepcopy(record)
    if how == "missing":
        del record["subtasks"][2]["type"]
    elif how == "mistyped":
        record["execution"][1]["cost_usd"] = "cheap"
    elif how == "negative":
        record["execution"][0]["latency_s"] = -1.0
    elif how == "unknown_dependency":
        record["subtasks"][4]["depends_on"] = ["s999"]
    elif how == "cycle":
        record["subtasks"][0]["depends_on"] = [record["subtasks"][-1]["id"]]
        record["subtasks"][-1]["depends_on"] = [record["subtasks"][0]["id"]]
    elif how == "unknown_type":
        record["subtasks"][1]["type"] = "interpretive_dance"
    elif how == "unknown_model":
        record["execution"][0]["model"] = "gpt-17"
    elif how == "version":
        record["schema_version"] = 99
    elif how == "total_cost":
        record["outcome"]["total_cost_usd"] += 1.0
    elif how == "mistyped_error":
        record["execution"][1]["error"] = "yes"
    elif how == "error_and_success":
        succeeded = next(k for k, a in enumerate(record["execution"]) if a["success"])
        record["execution"][succeeded]["error"] = True
    return record


@pytest.mark.parametrize(
    ("how", "field", "problem"),
    [
        ("missing", "subtasks[2].type", "missing"),
        ("mistyped", "execution[1].cost_usd", "expected a number"),
        ("negative", "execution[0].latency_s", "finite number >= 0"),
        ("unknown_dependency", "subtasks[4].depends_on[0]", "unknown subtask id 's999'"),
        ("cycle", "depends_on", "cyclic dependencies"),
        ("unknown_type", "subtasks[1].type", "unknown task type 'interpretive_dance'"),
        ("unknown_model", "execution[0].model", "unknown model 'gpt-17'"),
        ("version", "schema_version", "unsupported version 99"),
        ("total_cost", "outcome.total_cost_usd", "execution records sum to"),
        ("mistyped_error", "execution[1].error", "expected bool"),
        ("error_and_success", ".error", "cannot both succeed and answer with an error"),
    ],
)
def test_each_validation_error_names_file_record_and_field(tmp_path: Path, world: World, small_logs, how, field, problem):
    records = list(small_logs[:6])
    records[4] = _corrupt(records[4], how)
    path = tmp_path / "bad.jsonl"
    write_logs(path, records)
    with pytest.raises(LogValidationError) as raised:
        load_logs(path, world)
    error = raised.value
    assert error.record == 4 and error.record_id == records[4]["id"]
    assert field in error.field
    message = str(error)
    assert str(path) in message and "record 4" in message and records[4]["id"] in message and problem in message
    # the CLI reports the same and fails
    result = subprocess.run(
        [sys.executable, "-m", "orchestai.data.validate", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "record 4" in result.stderr and field in result.stderr


def test_malformed_json_names_the_line(tmp_path: Path, world: World, small_logs):
    path = tmp_path / "broken.jsonl"
    lines = [json.dumps(r) for r in small_logs[:5]]
    lines[3] = lines[3][:-10]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(LogValidationError, match=r"line 4: record 3: malformed JSON"):
        load_logs(path, world)
    listing = tmp_path / "broken.json"
    listing.write_text("[\n" + ",\n".join(json.dumps(r) for r in small_logs[:3]) + ",\n]")
    with pytest.raises(LogValidationError, match=r"broken.json: line \d+: malformed JSON"):
        load_logs(listing, world)


def test_duplicate_ids_are_rejected(tmp_path: Path, world: World, small_logs):
    path = tmp_path / "dup.jsonl"
    write_logs(path, [small_logs[0], small_logs[1], small_logs[0]])
    with pytest.raises(LogValidationError, match=r"record 2 .*field id: duplicate id \(also record 0\)"):
        load_logs(path, world)


def test_skip_invalid_reports_every_skipped_record(tmp_path: Path, world: World, small_logs):
    records = list(small_logs[:8])
    records[1] = _corrupt(records[1], "unknown_type")
    records[5] = _corrupt(records[5], "cycle")
    path = tmp_path / "mixed.jsonl"
    write_logs(path, records)
    loaded = load_logs(path, world, skip_invalid=True)
    assert len(loaded.logs) == 6
    assert [e.record for e in loaded.skipped] == [1, 5]
    assert "unknown task type" in str(loaded.skipped[0]) and "cyclic" in str(loaded.skipped[1])


def test_validate_cli_accepts_valid_file(small_log_file: Path):
    result = subprocess.run(
        [sys.executable, "-m", "orchestai.data.validate", str(small_log_file)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "40 valid records" in result.stdout


def test_generate_cli_writes_valid_logs(tmp_path: Path, world: World):
    out = tmp_path / "gen.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "orchestai.data.generate", "--n", "25", "--seed", "1", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "wrote 25 synthetic logs" in result.stdout
    assert len(load_logs(out, world).logs) == 25


def test_default_logs_of_another_world_or_seed_are_never_reused(tmp_path: Path, world: World, monkeypatch):
    monkeypatch.setenv("ORCHESTAI_DATA_DIR", str(tmp_path))
    path = ensure_default_logs(n=3, world=world)
    assert path.parent == tmp_path and path.exists()
    assert ensure_default_logs(n=3, world=world) == path  # found, not regenerated
    other_world = World(dataclasses.replace(world.config, templates=dataclasses.replace(world.config.templates, seed=1)))
    assert other_world.fingerprint != world.fingerprint
    assert default_logs_file(other_world, 3) != path
    assert default_logs_file(world, 3, seed=1) != path and default_logs_file(world, 3, epsilon=0.2) != path
    generated = subprocess.run(
        [sys.executable, "-m", "orchestai.data.generate", "--n", "3", "--seed", "0"],
        capture_output=True, text=True, check=False, env={**os.environ, "ORCHESTAI_DATA_DIR": str(tmp_path)},
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    assert str(path) in generated.stdout  # the CLI's default file is the one Phase 1 reads
    assert [json.loads(line) for line in path.read_text().splitlines()] == generate_logs(world, 3, 0)
