"""The planner vocabulary of a world or of a tool catalogue (what the planner's output heads name)."""

from __future__ import annotations

from collections.abc import Sequence

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
    )


def vocabulary_for_catalogue(type_names: Sequence[str], source: str) -> PlannerVocabulary:
    """The vocabulary of a tool catalogue with no worker models (TaskBench-format plans)."""
    return PlannerVocabulary(
        type_names=list(type_names),
        model_names=[],
        capable=[[] for _ in type_names],
        default_tokens=[[0, 0] for _ in type_names],
        extra={"source": source},
    )
