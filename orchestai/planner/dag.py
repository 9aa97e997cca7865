"""DAG utilities of the planner: the NOTEARS acyclicity loss and cycle-free decoding."""

from __future__ import annotations

import numpy as np
import torch


def notears_dag_loss(edge_probabilities: torch.Tensor) -> torch.Tensor:
    """NOTEARS acyclicity penalty ``h(A) = tr(exp(A * A)) - n`` for each matrix of a batch.

    ``edge_probabilities`` has shape ``(..., n, n)`` with ``A[i, j]`` the weight of edge
    i -> j; padded rows and columns must be zero (they contribute exactly 1 to the trace,
    as ``- n`` expects). The result is zero iff the weighted graph is acyclic and
    positive otherwise.
    """
    n = edge_probabilities.shape[-1]
    squared = edge_probabilities * edge_probabilities
    return torch.linalg.matrix_exp(squared).diagonal(dim1=-2, dim2=-1).sum(-1) - n


def decode_dag(edge_probabilities: np.ndarray, n: int, threshold: float = 0.5) -> list[tuple[int, ...]]:
    """Parents of each of the first ``n`` nodes, always forming a DAG.

    Candidate edges with probability above ``threshold`` are added in order of falling
    probability; an edge that would close a cycle is skipped.
    """
    probabilities = np.asarray(edge_probabilities, dtype=np.float64)[:n, :n]
    candidates = [
        (probabilities[i, j], i, j) for i in range(n) for j in range(n) if i != j and probabilities[i, j] > threshold
    ]
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    children: list[set[int]] = [set() for _ in range(n)]
    parents: list[set[int]] = [set() for _ in range(n)]
    for _, i, j in candidates:
        if _reaches(children, j, i):
            continue  # i -> j would close a cycle through j ~> i
        children[i].add(j)
        parents[j].add(i)
    return [tuple(sorted(p)) for p in parents]


def feed_where_allowed(
    parents: list[tuple[int, ...]], edge_probabilities: np.ndarray, allowed: np.ndarray
) -> list[tuple[int, ...]]:
    """``parents`` with each parentless node j after the first given its most likely parent i < j that ``allowed[i, j]`` permits.

    ``allowed`` is ``(n, n)`` bool over the plan's nodes (the catalogue's graph on their
    types); a node no earlier node may feed keeps no parent, and an edge that would close
    a cycle is never added.
    """
    n = len(parents)
    children: list[set[int]] = [set() for _ in range(n)]
    for child, ps in enumerate(parents):
        for parent in ps:
            children[parent].add(child)
    fed = [set(ps) for ps in parents]
    for j in range(1, n):
        if fed[j]:
            continue
        candidates = [i for i in range(j) if allowed[i, j] and not _reaches(children, j, i)]
        if candidates:
            best = max(candidates, key=lambda i: (edge_probabilities[i, j], i))
            fed[j].add(best)
            children[best].add(j)
    return [tuple(sorted(p)) for p in fed]


def _reaches(children: list[set[int]], start: int, goal: int) -> bool:
    stack, seen = [start], {start}
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        for child in children[node]:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return False
