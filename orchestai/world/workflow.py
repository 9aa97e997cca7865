"""`WorkflowSpec`: the structure of one workflow (typed subtasks and their dependencies)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkflowSpec:
    """A workflow to execute: subtasks in topological order, each with its parents.

    ``parents[i]`` holds indices smaller than ``i``; ``types`` are task-type indices of
    the world the spec was built for.
    """

    id: str
    instruction: str
    types: tuple[int, ...]
    input_tokens: tuple[int, ...]
    output_tokens: tuple[int, ...]
    parents: tuple[tuple[int, ...], ...]
    descriptions: tuple[str, ...]

    def __post_init__(self) -> None:
        n = len(self.types)
        lengths = {len(self.input_tokens), len(self.output_tokens), len(self.parents), len(self.descriptions)}
        if lengths != {n}:
            raise ValueError(f"workflow {self.id}: per-subtask fields have different lengths")
        for i, parents in enumerate(self.parents):
            if any(not 0 <= p < i for p in parents):
                raise ValueError(f"workflow {self.id}: subtask {i} depends on {parents}, not an earlier subtask")

    @property
    def n_subtasks(self) -> int:
        """Number of subtasks."""
        return len(self.types)

    def subtask_id(self, index: int) -> str:
        """The log-schema id of subtask ``index``."""
        return f"s{index}"

    def edges(self) -> list[tuple[int, int]]:
        """All dependency edges as (parent, child) index pairs."""
        return [(p, child) for child, parents in enumerate(self.parents) for p in parents]
