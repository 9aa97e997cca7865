"""Turn an instruction into a plan (subtasks, dependencies, models) with a planner checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestai.data.examples import PlanExample
from orchestai.planner.checkpoint import load_planner
from orchestai.planner.inference import predict_plans
from orchestai.planner.model import PlannerModel
from orchestai.planner.tensors import tensorize


def plan_instruction(
    instruction: str, checkpoint: str | Path | PlannerModel, world: Any = None, edge_threshold: float = 0.5
) -> dict[str, Any]:
    """Plan ``instruction``: a dict with the execution-log schema's field names.

    ``checkpoint`` is a planner checkpoint path (Phase 1 or Phase 2) or a loaded
    :class:`PlannerModel`. When the planner chooses models and ``world`` (a
    :class:`~orchestai.world.world.World`, by default the bundled one if its names
    match the checkpoint) is known, each subtask gets its expected cost.
    """
    if isinstance(checkpoint, PlannerModel):
        model, source = checkpoint, "<model>"
    else:
        model, _ = load_planner(checkpoint)
        source = str(checkpoint)
    vocabulary = model.vocabulary
    if world is None and vocabulary.n_models:
        from orchestai.world.world import World

        candidate = World.load()
        if candidate.names_signature() == {"task_types": vocabulary.type_names, "models": vocabulary.model_names}:
            world = candidate
    example = PlanExample("plan", instruction, (), (), (), (), ())
    plan = predict_plans(model, tensorize([example], vocabulary), edge_threshold)[0]
    subtasks = []
    total = 0.0
    for i, (t, parents) in enumerate(zip(plan.types, plan.parents, strict=True)):
        input_tokens, output_tokens = vocabulary.default_tokens[t]
        subtask: dict[str, Any] = {
            "id": f"s{i}",
            "type": vocabulary.type_names[t],
            "depends_on": [f"s{p}" for p in parents],
            "model": vocabulary.model_names[plan.models[i]] if vocabulary.n_models else None,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
        }
        if world is not None and vocabulary.n_models:
            cost = world.expected_cost(plan.models[i], input_tokens, output_tokens)
            subtask["expected_cost_usd"] = cost
            total += cost
        subtasks.append(subtask)
    result: dict[str, Any] = {"instruction": instruction, "subtasks": subtasks, "checkpoint": source}
    if world is not None and vocabulary.n_models:
        result["expected_cost_usd"] = total
    return result


def plan_to_dot(plan: dict[str, Any]) -> str:
    """A Graphviz DOT picture of a plan returned by :func:`plan_instruction`."""
    lines = ["digraph plan {", "  rankdir=LR;", '  node [shape=box, style=rounded, fontname="Helvetica"];']
    for subtask in plan["subtasks"]:
        label = f"{subtask['id']}: {subtask['type']}"
        if subtask.get("model"):
            label += f"\\n{subtask['model']}"
        lines.append(f'  "{subtask["id"]}" [label="{label}"];')
    for subtask in plan["subtasks"]:
        for parent in subtask["depends_on"]:
            lines.append(f'  "{parent}" -> "{subtask["id"]}";')
    lines.append("}")
    return "\n".join(lines) + "\n"
