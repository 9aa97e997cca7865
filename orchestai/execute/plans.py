"""Plans to execute: what ``orchestai.plan`` writes, an execution log's workflows, or RouterBench prompts.

A plan file is a JSON object (one plan), a JSON list of plans, or JSON lines (e.g. an
execution log). A plan has ``subtasks``, each with ``type`` (a task type of the
world), ``depends_on`` (ids of earlier subtasks) and optionally ``id``, ``prompt`` (the
text sent to the model; else its ``description``; else the plan's ``instruction`` and
the step's type), ``input_tokens`` and ``output_tokens`` (else the type's defaults).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestai.envs.routerbench_data import SPLIT_SEED, TEST_FRACTION, load_routerbench_folder, split_prompts
from orchestai.envs.routerbench_world import categories_of_datasets, category_types, tokens_of_text
from orchestai.files import parse_json, read_text
from orchestai.logs.schema import LogValidationError
from orchestai.world.workflow import WorkflowSpec, topological_order
from orchestai.world.world import World


@dataclass(frozen=True)
class PlannedWorkflow:
    """A workflow to execute: its structure in the world's terms and the prompt of every subtask (in topological order)."""

    spec: WorkflowSpec
    prompts: tuple[str, ...]


def read_plans(path: str | Path, world: World) -> list[PlannedWorkflow]:
    """Every plan of a plan file, checked against the world (errors name the file, record and field)."""
    text = read_text(path)
    try:
        data = json.loads(text)
    except ValueError:  # JSON lines (an execution log), parsed line by line for errors that name the line
        items = [parse_json(line, str(path), k + 1) for k, line in enumerate(text.splitlines()) if line.strip()]
    else:
        items = data if isinstance(data, list) else [data]
    plans = [plan_of(item, world, str(path), k) for k, item in enumerate(items)]
    ids = [p.spec.id for p in plans]
    duplicate = next((i for i in ids if ids.count(i) > 1), None)
    if duplicate is not None:
        raise LogValidationError(str(path), f"two plans have the id {duplicate!r}", field="id")
    if not plans:
        raise LogValidationError(str(path), "no plans in this file")
    return plans


def plan_of(item: Any, world: World, path: str = "<plans>", index: int = 0) -> PlannedWorkflow:
    """One plan as a :class:`PlannedWorkflow` (subtasks reordered topologically)."""
    if not isinstance(item, dict):
        raise LogValidationError(path, f"a plan must be a JSON object, got {type(item).__name__}", index)
    plan_id = str(item.get("id", f"plan-{index}"))

    def fail(problem: str, field: str) -> LogValidationError:
        return LogValidationError(path, problem, index, plan_id, field)

    subtasks = item.get("subtasks")
    if not isinstance(subtasks, list) or not subtasks:
        raise fail("expected a non-empty list", "subtasks")
    instruction = item.get("instruction", "")
    if not isinstance(instruction, str):
        raise fail("expected a string", "instruction")
    ids = [str(s.get("id", f"s{k}")) if isinstance(s, dict) else "" for k, s in enumerate(subtasks)]
    if len(set(ids)) != len(ids):
        raise fail("subtask ids repeat", "subtasks")
    types, parents, prompts, tokens = [], [], [], []
    for k, subtask in enumerate(subtasks):
        where = f"subtasks[{k}]"
        if not isinstance(subtask, dict):
            raise fail("expected an object", where)
        type_name = subtask.get("type")
        if type_name not in world.type_index:
            raise fail(f"unknown task type {type_name!r} (the world has {len(world.type_names)} types)", f"{where}.type")
        depends = subtask.get("depends_on", [])
        if not isinstance(depends, list) or any(d not in ids for d in depends):
            raise fail(f"expected a list of subtask ids of this plan ({ids})", f"{where}.depends_on")
        prompt = subtask.get("prompt", subtask.get("description"))
        if prompt is None:
            prompt = f"{instruction}\n\nDo this step of the request: {type_name.replace('_', ' ')}."
        if not isinstance(prompt, str) or not prompt.strip():
            raise fail("expected a non-empty string", f"{where}.prompt")
        t = world.type_index[type_name]
        input_tokens = subtask.get("input_tokens", tokens_of_text(prompt))
        output_tokens = subtask.get("output_tokens", int(world.type_output_tokens[t]))
        for name, value in (("input_tokens", input_tokens), ("output_tokens", output_tokens)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise fail(f"expected an integer >= 0, got {value!r}", f"{where}.{name}")
        types.append(t)
        parents.append([ids.index(d) for d in depends])
        prompts.append(prompt)
        tokens.append((input_tokens, output_tokens))
    try:
        order = topological_order(parents)
    except ValueError:
        raise fail("the dependencies have a cycle", "subtasks") from None
    if len(order) > world.config.templates.max_subtasks:
        raise fail(f"{len(order)} subtasks, more than the world's {world.config.templates.max_subtasks}", "subtasks")
    new = {old: k for k, old in enumerate(order)}
    spec = WorkflowSpec(
        id=plan_id,
        instruction=instruction,
        types=tuple(types[i] for i in order),
        input_tokens=tuple(tokens[i][0] for i in order),
        output_tokens=tuple(tokens[i][1] for i in order),
        parents=tuple(tuple(sorted(new[p] for p in parents[i])) for i in order),
        descriptions=tuple(prompts[i] for i in order),
    )
    return PlannedWorkflow(spec, tuple(prompts[i] for i in order))


def routerbench_plans(
    data_dir: str | Path,
    world: World,
    split: str = "test",
    test_fraction: float = TEST_FRACTION,
    split_seed: int = SPLIT_SEED,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """One single-subtask plan per RouterBench prompt of a split: the prompt as it is, typed by its category's first text type.

    ``orchestai/configs/calibration.yaml`` maps each RouterBench data set to a task-type
    category of the world (ARC-Challenge: reasoning, Winogrande: commonsense, MBPP: code).
    """
    data = load_routerbench_folder(data_dir)
    train, test = split_prompts(data.prompts, test_fraction, split_seed)
    prompts = {"train": train, "test": test, "all": data.prompts}[split]
    categories = categories_of_datasets(data)
    type_of = {dataset: world.type_names[category_types(world, category)[0]] for dataset, category in categories.items()}
    plans = []
    for prompt in prompts[:limit]:
        subtask = {
            "id": "s0",
            "type": type_of[prompt.dataset],
            "depends_on": [],
            "prompt": prompt.prompt,
            "input_tokens": tokens_of_text(prompt.prompt),
        }
        plans.append(
            {
                "id": prompt.sample_id,
                "dataset": prompt.dataset,
                "instruction": f"a {prompt.dataset} prompt",
                "subtasks": [subtask],
            }
        )
    return plans


def write_plans(path: str | Path, plans: Sequence[dict[str, Any]]) -> None:
    """A JSON list of plans, written atomically."""
    from orchestai.files import write_text_atomic

    write_text_atomic(path, json.dumps(list(plans), indent=1) + "\n")
