"""`WorkflowSpec`: the structure of one workflow (typed subtasks and their dependencies)."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np


class SubtaskFeature(IntEnum):
    """Columns of the static per-subtask features (the env's ``subtask_features``)."""

    INPUT_TOKENS = 0  # / 1000
    OUTPUT_TOKENS = 1  # / 1000
    PARENTS = 2  # / 4
    CHILDREN = 3  # / 4
    DEPTH = 4  # / max_subtasks
    PRESENT = 5  # 1 for a real subtask, 0 for padding


SUBTASK_FEATURES = len(SubtaskFeature)
SELECTOR_FEATURES = SUBTASK_FEATURES + 1  # plus input quality, what the model selector reads


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

    def edges(self) -> list[tuple[int, int]]:
        """All dependency edges as (parent, child) index pairs."""
        return [(p, child) for child, parents in enumerate(self.parents) for p in parents]


def subtask_feature_matrix(
    input_tokens: Sequence[int], output_tokens: Sequence[int], parents: Sequence[Sequence[int]], max_subtasks: int
) -> np.ndarray:
    """Per-subtask numeric features, padded to ``max_subtasks`` rows (float32, 6 columns).

    Columns: input tokens / 1000, output tokens / 1000, parents / 4, children / 4,
    depth / ``max_subtasks``, 1 for a real subtask. ``parents[i]`` must hold indices
    smaller than ``i``. The env's observations and the planner's selector share it.
    """
    n = len(parents)
    children = [0] * n
    depth = [0] * n
    for child, child_parents in enumerate(parents):
        for p in child_parents:
            children[p] += 1
            depth[child] = max(depth[child], depth[p] + 1)
    features = np.zeros((max_subtasks, SUBTASK_FEATURES), dtype=np.float32)
    features[:n, SubtaskFeature.INPUT_TOKENS] = np.asarray(input_tokens, dtype=np.float32) / 1000.0
    features[:n, SubtaskFeature.OUTPUT_TOKENS] = np.asarray(output_tokens, dtype=np.float32) / 1000.0
    features[:n, SubtaskFeature.PARENTS] = np.array([len(p) for p in parents], dtype=np.float32) / 4.0
    features[:n, SubtaskFeature.CHILDREN] = np.array(children, dtype=np.float32) / 4.0
    features[:n, SubtaskFeature.DEPTH] = np.array(depth, dtype=np.float32) / max_subtasks
    features[:n, SubtaskFeature.PRESENT] = 1.0
    return features


def selector_feature_matrix(static_features: np.ndarray, input_quality: np.ndarray) -> np.ndarray:
    """The model selector's features: the static ones ``(..., N, 6)`` plus input quality ``(..., N)``."""
    return np.concatenate([static_features, np.asarray(input_quality, dtype=np.float32)[..., None]], axis=-1)


def topological_order(parents: Sequence[Sequence[int]]) -> list[int]:
    """Topological order of a DAG given as parent lists, lowest index first among ready nodes.

    Raises ``ValueError`` when the graph has a cycle.
    """
    n = len(parents)
    waiting = [len(p) for p in parents]
    children: list[list[int]] = [[] for _ in range(n)]
    for child, child_parents in enumerate(parents):
        for p in child_parents:
            children[p].append(child)
    ready = [i for i in range(n) if waiting[i] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for child in children[node]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, child)
    if len(order) != n:
        raise ValueError("the graph has a cycle")
    return order
