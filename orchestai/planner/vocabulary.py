"""The planner vocabulary of a world or of a tool catalogue (what the planner's output heads name)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from orchestai.data.examples import PlanExample
from orchestai.planner.model import PlannerVocabulary
from orchestai.world.world import World


def vocabulary_for_world(world: World) -> PlannerVocabulary:
    """The planner vocabulary of a :class:`World` (its types, models, capabilities, tokenizer)."""
    return PlannerVocabulary(
        type_names=list(world.type_names),
        model_names=list(world.model_names),
        capable=world.capable.tolist(),
        default_tokens=[[int(i), int(o)] for i, o in zip(world.type_input_tokens, world.type_output_tokens, strict=True)],
        skill=world.skill.tolist(),
        vocab_size=world.config.tokenizer.vocab_size,
        max_tokens=world.config.tokenizer.max_tokens,
        max_subtasks=world.config.templates.max_subtasks,
        extra={"source": f"world {world.source}"},
        descriptions=[type_description(world, t) for t in range(len(world.type_names))],
    )


def type_description(world: World, type_index: int) -> str:
    """A task type's one-line description: ``description`` in the world YAML, else its phrases without their placeholders."""
    import re

    config = world.config.task_types[type_index]
    if config.description:
        return config.description
    phrases = config.phrases
    return "; ".join(" ".join(re.sub(r"\{\w+\}", "", p).split()) for p in phrases)


def vocabulary_for_catalogue(
    type_names: Sequence[str],
    source: str,
    descriptions: Sequence[str] = (),
    allowed_edges: Sequence[Sequence[int]] = (),
) -> PlannerVocabulary:
    """The vocabulary of a tool catalogue with no worker models (TaskBench-format plans), its descriptions and graph."""
    return PlannerVocabulary(
        type_names=list(type_names),
        model_names=[],
        capable=[[] for _ in type_names],
        default_tokens=[[0, 0] for _ in type_names],
        extra={"source": source},
        descriptions=list(descriptions),
        allowed_edges=[list(e) for e in allowed_edges],
    )


# decoding keeps a rule of the training plans (no type twice; every step after the first
# fed by an earlier one; every step the graph lets an earlier one feed, fed) unless at
# least this share of them breaks it
RULE_SHARE = 0.05


def with_plan_rules(vocabulary: PlannerVocabulary, train: Sequence[PlanExample]) -> PlannerVocabulary:
    """The vocabulary with what the training plans say about repeats (``repeat_types``) and unfed steps (``unfed_steps``, ``fed_where_allowed``)."""
    least = RULE_SHARE * len(train)
    allowed = vocabulary.allowed_links()
    return dataclasses.replace(
        vocabulary,
        repeat_types=bool(train) and repeating_plans(train) >= least,
        unfed_steps=bool(train) and plans_with_unfed_steps(train) >= least,
        fed_where_allowed=bool(train) and bool(allowed) and plans_unfed_where_allowed(train, allowed) < least,
    )


def repeating_plans(plans: Sequence[PlanExample]) -> int:
    """How many plans use some type twice."""
    return sum(len(set(e.types)) < len(e.types) for e in plans)


def plans_with_unfed_steps(plans: Sequence[PlanExample]) -> int:
    """How many plans have a step after the first that no step feeds (a second intent, say)."""
    return sum(any(not parents for parents in e.parents[1:]) for e in plans)


def plans_unfed_where_allowed(plans: Sequence[PlanExample], allowed: set[tuple[int, int]]) -> int:
    """How many plans have a step with no parent although the graph lets an earlier step feed it."""
    return sum(
        any(not e.parents[j] and any((e.types[i], e.types[j]) in allowed for i in range(j)) for j in range(1, e.n_subtasks))
        for e in plans
    )
