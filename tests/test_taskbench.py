"""The TaskBench-format importer (UltraTool, RestBench) and the planner-vs-neighbour comparison."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from orchestai.data.taskbench import load_taskbench
from orchestai.envs.embeddings import embeddings_available
from orchestai.evaluate.planning import compare_planners, format_table
from orchestai.logs.schema import LogValidationError

from .conftest import shared_data_or_skip

TOOLS = ["search", "book", "pay", "alarm", "weather"]


def _record(k: int, nodes: list[str], links: list[tuple[str, str]], request: str) -> dict:
    return {
        "id": k, "user_request": request, "task_nodes": [{"task": n} for n in nodes],
        "task_links": [{"source": s, "target": t} for s, t in links],
    }  # fmt: skip


def _toy_records(n: int = 60) -> list[dict]:
    records = []
    for k in range(n):
        if k % 3 == 0:
            records.append(
                _record(
                    k, ["search", "book", "pay"], [("search", "book"), ("book", "pay")], f"find and book a train {k} then pay"
                )
            )
        elif k % 3 == 1:
            records.append(_record(k, ["weather", "alarm"], [("weather", "alarm")], f"check the weather {k} and set an alarm"))
        else:
            records.append(_record(k, ["search"], [], f"search the web for item {k}"))
    return records


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    (path.parent / "tool_desc.json").write_text(json.dumps({"nodes": [{"id": t, "desc": t} for t in TOOLS]}))
    return path


def test_toy_file_becomes_plans_in_topological_order(tmp_path: Path):
    records = [_record("r0", ["pay", "search", "book"], [("search", "book"), ("book", "pay")], "  book it  ")]
    data = load_taskbench(_write(tmp_path / "plans.jsonl", records))
    assert data.type_names == TOOLS
    (example,) = data.examples
    assert [TOOLS[t] for t in example.types] == ["search", "book", "pay"]
    assert example.parents == ((), (0,), (1,))
    assert example.instruction == "book it"


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (_record(0, ["teleport"], [], "x"), "task_nodes[0].task"),
        (_record(0, ["search"], [("search", "pay")], "x"), "task_links[0].target"),
        (_record(0, ["search", "book"], [("search", "book"), ("book", "search")], "x"), "task_links"),
        ({"id": 0, "task_nodes": [{"task": "search"}]}, "user_request"),
    ],
)
def test_bad_records_name_file_record_and_field(tmp_path: Path, record: dict, field: str):
    path = _write(tmp_path / "bad.jsonl", [_record(9, ["search"], [], "fine"), record])
    with pytest.raises(LogValidationError, match=r"bad.jsonl: record 1 .*" + re.escape(field)):
        load_taskbench(path)


def test_steps_that_call_a_tool_of_the_plan_become_its_step_clauses(tmp_path: Path):
    record = _record("r0", ["search", "book"], [("search", "book")], "find a train to Rome and book it")
    record["task_steps"] = [
        "Step 1 Call search to find a train to Rome.",
        "Step 2 Save the booking number",  # no tool call
        "Step 3 Call weather to check the weather",  # a tool outside this plan
        "Step 4:  Call book to  book the earliest one",
    ]
    (example,) = load_taskbench(_write(tmp_path / "plans.jsonl", [record])).examples
    assert example.step_clauses == ((0, "find a train to Rome"), (1, "book the earliest one"))
    assert load_taskbench(_write(tmp_path / "plans.jsonl", _toy_records(3))).examples[0].step_clauses == ()
    record["task_steps"] = "Step 1 Call search to find a train"
    with pytest.raises(LogValidationError, match=r"plans.jsonl: record 0 .*task_steps: not a list of strings"):
        load_taskbench(_write(tmp_path / "plans.jsonl", [record]))


def test_shared_ultratool_and_tmdb_counts():
    ultratool = load_taskbench(shared_data_or_skip("ultratool", "data.json"))
    assert len(ultratool.examples) == 3027 and len(ultratool.type_names) == 260
    assert all(2 <= len(e.types) <= 5 for e in ultratool.examples)
    # 7,662 of UltraTool's 7,683 steps call a tool of their plan
    assert sum(len(e.step_clauses) for e in ultratool.examples) == 7662
    tmdb = load_taskbench(shared_data_or_skip("tmdb", "data.json"))
    assert len(tmdb.examples) == 100 and len(tmdb.type_names) == 46


@pytest.mark.slow
def test_planner_and_neighbour_comparison_end_to_end(tmp_path: Path):
    records = _toy_records()
    for record in records:  # each step described, as UltraTool's task_steps do
        record["task_steps"] = [f"Step {i + 1} Call {n['task']} to {n['task']} it" for i, n in enumerate(record["task_nodes"])]
    data = _write(tmp_path / "plans.jsonl", records)
    out = tmp_path / "run"
    flags = [
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
    train = subprocess.run(
        [sys.executable, "-m", "orchestai.phase1.train", "--format", "taskbench", "--data", str(data), "--epochs", "25",
         "--out-dir", str(out), *flags], capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert train.returncode == 0, train.stderr
    checkpoint = out / "phase1_best_model_60.pth"
    grouped = compare_planners(checkpoint, embeddings="no", log=lambda *_: None)
    results = grouped["all"]
    assert set(results) == {"planner", "neighbour (bag of words)"}
    # three plan shapes, each named by its words: both planners get them all right
    assert results["neighbour (bag of words)"]["exact_plan"] == 1.0
    assert results["planner"]["node_f1_record"] > 0.9
    assert "link F1 (GNN4TaskPlan)" in format_table(grouped)
    by_steps = [g for g in grouped if g.endswith(("step", "steps"))]
    assert by_steps and sum(grouped["_records"][g]["records"] for g in by_steps) == grouped["_records"]["all"]["records"]
    from orchestai.evaluate.planning import COMPOSED_GROUP

    composed = grouped[COMPOSED_GROUP]  # two held-out requests joined: plans of two unrelated intents
    assert grouped["_records"][COMPOSED_GROUP]["records"] > 0 and set(composed) == set(results)
    # the neighbour returns one training request's plan, never the plan of two
    assert composed["neighbour (bag of words)"]["exact_plan"] == 0.0
    cli = subprocess.run(
        [sys.executable, "-m", "orchestai.evaluate.planning", "--checkpoint", str(checkpoint), "--embeddings", "no",
         "--json", str(tmp_path / "table.json")], capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    assert json.loads((tmp_path / "table.json").read_text())["all"]["planner"]["valid_dag"] == 1.0
    plan = subprocess.run(
        [sys.executable, "-m", "orchestai.plan", "find and book a train 99 then pay", "--checkpoint", str(checkpoint)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert plan.returncode == 0, plan.stderr
    assert [s["type"] for s in json.loads(plan.stdout)["subtasks"]][0] == "search"
    if embeddings_available():
        from orchestai.evaluate.step_oracle import DESCRIBED_GROUP, ORACLE_NAME

        described = compare_planners(checkpoint, embeddings="yes", cache_dir=tmp_path / "cache", log=lambda *_: None)
        # every held-out step is described by its own tool's name: the oracle names them all
        assert described["_records"][DESCRIBED_GROUP] == described["_records"]["all"]
        assert described[DESCRIBED_GROUP][ORACLE_NAME]["exact_plan"] == 1.0
        assert set(described[DESCRIBED_GROUP]) == set(described["all"]) | {ORACLE_NAME}
