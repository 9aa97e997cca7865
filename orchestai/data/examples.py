"""Planning examples: what Phase 1 learns from (instruction -> typed subtasks, DAG, models)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from orchestai.data.generate import template_of_log
from orchestai.envs.workflow_env import is_held_out
from orchestai.logs.schema import ExecutionLog
from orchestai.world.world import World


@dataclass(frozen=True)
class PlanExample:
    """One gold plan: subtasks in topological order with parents earlier than children.

    ``types`` index the planner's type names; ``models`` index its model names, -1
    where no model was recorded (a subtask never executed, or data without models).
    """

    id: str
    instruction: str
    types: tuple[int, ...]
    parents: tuple[tuple[int, ...], ...]
    models: tuple[int, ...]
    input_tokens: tuple[int, ...]
    output_tokens: tuple[int, ...]
    input_quality: tuple[float, ...] = ()  # per subtask; empty means 1.0 everywhere
    # (type, clause) of each step the data set describes ("Step 2 Call clock_alarm_set to
    # set a new alarm for 7 am": clock_alarm_set, "set a new alarm for 7 am"); material for
    # synthetic compositions only, never an input of the planner
    step_clauses: tuple[tuple[int, str], ...] = ()

    @property
    def n_subtasks(self) -> int:
        """Number of subtasks."""
        return len(self.types)


def examples_from_logs(logs: Sequence[ExecutionLog], world: World) -> list[PlanExample]:
    """Turn validated execution logs into planning examples (topologically ordered)."""
    examples = []
    for log in logs:
        workflow = log.to_workflow(world)
        examples.append(
            PlanExample(
                id=log.id,
                instruction=log.instruction,
                types=workflow.types,
                parents=workflow.parents,
                models=log.models_in_order(world),
                input_tokens=workflow.input_tokens,
                output_tokens=workflow.output_tokens,
                input_quality=log.input_quality_in_order(world),
            )
        )
    return examples


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """A seeded random split of positions ``0..n-1`` into training and validation (each sorted)."""
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(n * val_fraction))
    return sorted(order[n_val:].tolist()), sorted(order[:n_val].tolist())


def early_stopping_split(train_index: Sequence[int], fraction: float, split_seed: int) -> tuple[list[int], list[int]]:
    """The part of a training split that trains and the part Phase 1 stops early on (``early_stop_fraction``)."""
    kept, stop = split_indices(len(train_index), fraction, split_seed + 1)
    return [train_index[i] for i in kept], [train_index[i] for i in stop]


SPLITS = ("by_template", "random")  # Phase1Config.split


def uses_templates(examples: Sequence[PlanExample]) -> bool:
    """Whether every example is a synthetic log of :func:`~orchestai.data.generate.generate_logs` (names its template)."""
    return bool(examples) and all(template_of_log(e.id) is not None for e in examples)


def plan_split_indices(
    examples: Sequence[PlanExample], split: str, val_fraction: float, seed: int
) -> tuple[list[int], list[int]]:
    """Training and validation positions of ``examples``.

    ``by_template``: the logs of the templates ``Workflow-v0`` holds out for testing
    (every fifth) validate, so neither phase trains on a held-out template; data that
    names no templates (TaskBench files, recorded logs) is split at random as with
    ``random``: a seeded ``val_fraction`` of the records.
    """
    templates = [template_of_log(e.id) for e in examples] if split == "by_template" else []
    if templates and None not in templates:
        held = [is_held_out(t) for t in templates if t is not None]
        return [i for i, h in enumerate(held) if not h], [i for i, h in enumerate(held) if h]
    return split_indices(len(examples), val_fraction, seed)


def describe_split(examples: Sequence[PlanExample], split: str, seed: int) -> str:
    """How :func:`plan_split_indices` splits ``examples``, in words."""
    if split == "by_template" and uses_templates(examples):
        return "the logs of Workflow-v0's held-out templates validate"
    return f"random split, seed {seed}"


def split_examples(
    examples: Sequence[PlanExample], split: str, val_fraction: float, seed: int
) -> tuple[list[PlanExample], list[PlanExample]]:
    """Training and validation examples (:func:`plan_split_indices`)."""
    train, val = plan_split_indices(examples, split, val_fraction, seed)
    return [examples[i] for i in train], [examples[i] for i in val]


def held_out_types(examples: Sequence[PlanExample], fraction: float, seed: int) -> set[int]:
    """A seeded ``fraction`` of the task types the examples use: left out of training entirely (a zero-shot test)."""
    used = sorted({t for e in examples for t in e.types})
    n = int(round(len(used) * fraction))
    if n == 0:
        return set()
    return {int(t) for t in np.random.default_rng(seed).choice(used, size=n, replace=False)}
