"""Clause coverage: steps a request asks for in a clause of their own that the decoded plan lacks.

A planner that reads the whole request keeps the plan length of the training requests it
resembles, and misses a second intent joined in a short clause ("book a train ticket to
Beijing, then set an alarm for 6 am"). Clause coverage reads each clause on its own: it
compares the clause's sentence embedding with the *step clauses* of the training records
(UltraTool's ``task_steps``: "Step 2 Call clock_alarm_set to set a new alarm for 7 am")
and, where no step clause is close, with the catalogue's descriptions. A clause that
clearly names a tool (its nearest step clause at least ``coverage_similarity`` and its
k nearest voting mostly for one tool, or a description at least
``coverage_description_similarity`` and clearly ahead of the next) adds that tool when
the plan lacks it and none of the clause's nearest step clauses names a tool the plan
already has (the clause then describes a step the plan covers).

The step goes after the last step that answers an earlier clause, where a step no clause
names answers the clause of the step before it; it goes first when only later clauses
name steps, last when no clause does. It is fed by the step before it where the
catalogue's graph allows that link (or no graph is given), else it stands apart, as a
second intent does, and it feeds the step after it where that step has no parent and
the graph allows the link.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from orchestai.data.examples import PlanExample
from orchestai.envs.embeddings import CLAUSE_END_TOKENS
from orchestai.planner.metrics import Plan
from orchestai.planner.model import PlannerConfig
from orchestai.planner.nearest_neighbour import unit_rows

COVERAGE_NEIGHBOURS = 8  # step clauses that vote for a clause's tool
DESCRIPTION_MARGIN = 0.05  # a description must be this much closer than the next one
# a clause ends where the planner's clause segments end (envs.embeddings.CLAUSE_END_TOKENS:
# . ? ! ; , and the words "and" / "then"); leading fillers are dropped
CLAUSE_SPLIT = re.compile(
    "|".join(rf"\b{re.escape(t)}\b" if t.isalpha() else re.escape(t) for t in CLAUSE_END_TOKENS), re.IGNORECASE
)
CLAUSE_FILLERS = re.compile(r"^(?:\s|also\b|then\b|and\b|after that\b|please\b|finally\b|next\b)+", re.IGNORECASE)
MIN_CLAUSE_WORDS = 2


def request_clauses(text: str) -> list[str]:
    """The clauses of a request that are read on their own (at least two words each)."""
    parts = (CLAUSE_FILLERS.sub("", part).strip() for part in CLAUSE_SPLIT.split(text))
    return [part for part in parts if len(part.split()) >= MIN_CLAUSE_WORDS]


@dataclass
class ClauseCoverage:
    """The training records' step clauses and the catalogue's descriptions, embedded; ``config`` holds the thresholds that add a step."""

    step_vectors: np.ndarray  # (n, D) unit rows
    step_types: np.ndarray  # (n,) the tool of each step clause
    description_vectors: np.ndarray  # (T, D) unit rows, one per catalogue entry
    config: PlannerConfig

    @classmethod
    def build(
        cls,
        examples: Sequence[PlanExample],
        embed: Callable[[list[str]], np.ndarray],
        description_vectors: np.ndarray,
        config: PlannerConfig,
    ) -> ClauseCoverage:
        """The coverage of ``examples``' step clauses, embedded with ``embed`` (the planner's request vectors)."""
        described = [(tool, clause) for e in examples for tool, clause in e.step_clauses]
        vectors = embed([clause for _, clause in described]) if described else np.zeros((0, description_vectors.shape[1]))
        return cls(
            unit_rows(np.asarray(vectors, dtype=np.float32)),
            np.asarray([tool for tool, _ in described], dtype=np.int64),
            unit_rows(np.asarray(description_vectors, dtype=np.float32)),
            config,
        )

    def clause_tools(self, clause_vectors: np.ndarray) -> list[tuple[int | None, set[int]]]:
        """For each clause: the tool it clearly names (``None``: none) and the tools of its nearest step clauses."""
        if not len(self.step_types):
            return [(None, set()) for _ in clause_vectors]
        config = self.config
        queries = unit_rows(np.asarray(clause_vectors, dtype=np.float32))
        step_sims = queries @ self.step_vectors.T
        description_sims = queries @ self.description_vectors.T
        k = min(COVERAGE_NEIGHBOURS, step_sims.shape[1])
        named: list[tuple[int | None, set[int]]] = []
        for sims, descriptions in zip(step_sims, description_sims, strict=True):
            top = np.argsort(-sims)[:k]
            votes: dict[int, float] = {}
            for i in top:
                votes[int(self.step_types[i])] = votes.get(int(self.step_types[i]), 0.0) + float(sims[i])
            tool = max(votes, key=lambda t: votes[t])
            neighbours = {int(self.step_types[i]) for i in top}
            if sims[top[0]] >= config.coverage_similarity and votes[tool] >= config.coverage_share * sum(votes.values()):
                named.append((tool, neighbours))
                continue
            order = np.argsort(-descriptions)
            ahead = len(order) < 2 or descriptions[order[0]] - descriptions[order[1]] >= DESCRIPTION_MARGIN
            if descriptions[order[0]] >= config.coverage_description_similarity and ahead:
                named.append((int(order[0]), neighbours))
            else:
                named.append((None, neighbours))
        return named

    def cover(self, plan: Plan, clause_vectors: np.ndarray, allowed: set[tuple[int, int]] | None, max_steps: int) -> Plan:
        """``plan`` with the tools its request's clauses (embedded: ``clause_vectors``, in order) name and it lacks."""
        named = self.clause_tools(clause_vectors)
        if len(named) < 2:  # one clause: the whole request, which the planner read
            return plan
        types, parents, models = list(plan.types), [list(ps) for ps in plan.parents], list(plan.models)
        # the clause each step answers: the one that names it, else that of the step before it
        # (a step no clause names belongs to the intent before it); None before any named step
        clause_of: list[int | None] = []
        for step in types:
            naming = next((k for k, (t, _) in enumerate(named) if t == step), None)
            clause_of.append(naming if naming is not None else (clause_of[-1] if clause_of else None))
        for position, (tool, neighbours) in enumerate(named):
            if tool is None or tool in types or neighbours & set(types) or len(types) >= max_steps:
                continue
            before = [i for i, k in enumerate(clause_of) if k is not None and k < position]
            later = any(k is not None and k > position for k in clause_of)
            at = before[-1] + 1 if before else (0 if later else len(types))
            parents = [[p + (p >= at) for p in ps] for ps in parents]
            types.insert(at, tool)
            models.insert(at, -1)
            clause_of.insert(at, position)
            parents.insert(at, [at - 1] if at and (allowed is None or (types[at - 1], tool) in allowed) else [])
            if at + 1 < len(types) and not parents[at + 1] and (allowed is None or (tool, types[at + 1]) in allowed):
                parents[at + 1] = [at]
        if len(types) == len(plan.types):
            return plan
        return Plan(tuple(types), tuple(tuple(ps) for ps in parents), tuple(models))

    def state(self) -> dict[str, Any]:
        """The embedded clauses and descriptions as plain tensors, for a checkpoint (read back with ``weights_only=True``)."""
        return {
            "step_vectors": torch.from_numpy(self.step_vectors.astype(np.float16)),
            "step_types": torch.from_numpy(self.step_types),
            "description_vectors": torch.from_numpy(self.description_vectors.astype(np.float16)),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], config: PlannerConfig) -> ClauseCoverage:
        """The coverage a checkpoint stored, with the thresholds of the planner's ``config``."""
        return cls(
            state["step_vectors"].float().numpy(),
            state["step_types"].numpy().astype(np.int64),
            state["description_vectors"].float().numpy(),
            config,
        )
