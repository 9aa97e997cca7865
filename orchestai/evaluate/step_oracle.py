"""A reference no request-reading planner is given: the tools that the annotators' own step descriptions name.

UltraTool's records describe each gold step ("Step 2 Call clock_alarm_set to set a new
alarm for 7 am" gives the clause "set a new alarm for 7 am"). This oracle is handed those
clauses of a held-out record, the gold number of steps, their order and their links, and
only has to name each step's tool: a linear classifier of the training records' step
clauses (:class:`StepClassifier`, on their MiniLM sentence embeddings) picks it. Where it
errs, steps described alike were given different tools in the annotation (booking a
train starts with ``search_train`` in some records, ``train_ticket_query`` in others),
so its scores estimate how far tool choice can be read from text at all on this data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.nn import functional as F

from orchestai.data.examples import PlanExample
from orchestai.planner.metrics import Plan

ORACLE_NAME = "oracle: gold step clauses"
DESCRIBED_GROUP = "every step described (oracle reference)"
CLASSIFIER_STEPS = 300  # full-batch Adam steps
CLASSIFIER_LEARNING_RATE = 0.01
CLASSIFIER_WEIGHT_DECAY = 1e-3
CLASSIFIER_SCALE = 10.0  # the unit clause vectors are scaled by this before the linear layer


def described_slots(example: PlanExample) -> list[int] | None:
    """Which step clause describes each of ``example``'s steps (in order), or ``None`` when some step has none."""
    used: set[int] = set()
    slots = []
    for tool in example.types:
        match = next((k for k, (t, _) in enumerate(example.step_clauses) if t == tool and k not in used), None)
        if match is None:
            return None
        used.add(match)
        slots.append(match)
    return slots


class StepClassifier:
    """A linear softmax classifier of step clauses' vectors into tools (fitted full-batch, seeded)."""

    def __init__(self, vectors: torch.Tensor, tools: torch.Tensor, n_types: int, seed: int = 0) -> None:
        with torch.random.fork_rng():  # seeded, without moving the caller's random stream
            torch.manual_seed(seed)
            self.layer = torch.nn.Linear(vectors.shape[1], n_types)
        optimizer = torch.optim.Adam(
            self.layer.parameters(), lr=CLASSIFIER_LEARNING_RATE, weight_decay=CLASSIFIER_WEIGHT_DECAY
        )
        inputs = self._scaled(vectors)
        with torch.enable_grad():
            for _ in range(CLASSIFIER_STEPS):
                optimizer.zero_grad()
                F.cross_entropy(self.layer(inputs), tools).backward()
                optimizer.step()

    @staticmethod
    def _scaled(vectors: torch.Tensor) -> torch.Tensor:
        return CLASSIFIER_SCALE * F.normalize(vectors.float(), dim=1)

    @torch.no_grad()
    def predict(self, vectors: torch.Tensor) -> list[int]:
        """The most likely tool of each step clause's vector."""
        return self.layer(self._scaled(vectors)).argmax(-1).tolist()


def step_description_plans(
    train: Sequence[PlanExample],
    held_out: Sequence[PlanExample],
    embed: Callable[[list[str]], np.ndarray],
    n_types: int,
    seed: int = 0,
) -> dict[int, Plan]:
    """For each held-out record that describes every step (by index): its gold plan with each tool classified from its step clause."""
    described = [(tool, clause) for e in train for tool, clause in e.step_clauses]
    slots = {k: s for k, e in enumerate(held_out) if (s := described_slots(e))}
    if not described or not slots:
        return {}
    vectors = torch.from_numpy(np.asarray(embed([clause for _, clause in described]), dtype=np.float32))
    classifier = StepClassifier(vectors, torch.tensor([tool for tool, _ in described]), n_types, seed)
    clauses = [held_out[k].step_clauses[c][1] for k, s in slots.items() for c in s]
    chosen = classifier.predict(torch.from_numpy(np.asarray(embed(clauses), dtype=np.float32)))
    plans, position = {}, 0
    for k, s in slots.items():
        types = tuple(chosen[position : position + len(s)])
        position += len(s)
        plans[k] = Plan(types, held_out[k].parents, tuple(-1 for _ in types))
    return plans
