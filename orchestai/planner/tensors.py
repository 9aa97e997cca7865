"""Planning examples as padded tensors for the PlannerModel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from orchestai.data.examples import PlanExample
from orchestai.envs.log_replay import ReplayedDecisions
from orchestai.envs.tokenizer import HashTokenizer
from orchestai.planner.model import PlanInputs, PlannerVocabulary
from orchestai.world.workflow import SELECTOR_FEATURES, selector_feature_matrix, subtask_feature_matrix

IGNORE = -100  # target value the cross-entropy losses skip


@dataclass
class PlanTensors:
    """A batch (or a whole split) of examples, padded to ``max_subtasks`` slots.

    ``types`` uses the "no subtask" class (``n_types``) beyond a plan's end; ``models``
    is :data:`IGNORE` where no model was recorded; ``pair_mask[b, i, j]`` marks the
    ordered pairs of real, distinct subtasks (the edges scored by the loss).
    """

    tokens: torch.Tensor
    types: torch.Tensor
    features: torch.Tensor
    edges: torch.Tensor
    pair_mask: torch.Tensor
    models: torch.Tensor
    n_subtasks: torch.Tensor
    inputs: PlanInputs = field(default_factory=PlanInputs)  # token states and retrieval prior, where configured

    def __len__(self) -> int:
        return self.tokens.shape[0]

    def select(self, index: torch.Tensor | slice) -> PlanTensors:
        """The examples at ``index``."""
        t = {f: getattr(self, f)[index] for f in self.__dataclass_fields__ if f != "inputs"}
        inputs = PlanInputs(*(None if v is None else v[index] for v in self.inputs))
        return PlanTensors(**t, inputs=inputs)


def tensorize(
    examples: Sequence[PlanExample],
    vocabulary: PlannerVocabulary,
    builder: Any = None,
    memory_index: Sequence[int] | None = None,
) -> PlanTensors:
    """Pad and stack examples into :class:`PlanTensors`.

    ``builder`` (a :class:`~orchestai.planner.text_inputs.PlannerInputsBuilder`) adds the
    token states and retrieval prior a planner configured for them reads; ``memory_index``
    is each example's row in the builder's retrieval memory (training examples: left out).
    """
    tokenizer = HashTokenizer(vocabulary.vocab_size, vocabulary.max_tokens)
    n_slots = vocabulary.max_subtasks
    b = len(examples)
    tokens = (
        np.stack([tokenizer.encode(e.instruction) for e in examples]) if b else np.zeros((0, vocabulary.max_tokens), np.int64)
    )
    types = np.full((b, n_slots), vocabulary.n_types, dtype=np.int64)
    features = np.zeros((b, n_slots, SELECTOR_FEATURES), dtype=np.float32)
    edges = np.zeros((b, n_slots, n_slots), dtype=np.float32)
    pair_mask = np.zeros((b, n_slots, n_slots), dtype=bool)
    models = np.full((b, n_slots), IGNORE, dtype=np.int64)
    n_subtasks = np.zeros(b, dtype=np.int64)
    for k, example in enumerate(examples):
        n = example.n_subtasks
        if n > n_slots:
            raise ValueError(f"example {example.id!r} has {n} subtasks, more than max_subtasks = {n_slots}")
        n_subtasks[k] = n
        types[k, :n] = example.types
        quality = np.ones(n_slots, dtype=np.float32)
        quality[: len(example.input_quality)] = example.input_quality
        static = subtask_feature_matrix(example.input_tokens, example.output_tokens, example.parents, n_slots)
        features[k] = selector_feature_matrix(static, quality)
        for child, parents in enumerate(example.parents):
            for parent in parents:
                edges[k, parent, child] = 1.0
        pair_mask[k, :n, :n] = ~np.eye(n, dtype=bool)
        models[k, :n] = [m if m >= 0 else IGNORE for m in example.models]
    inputs = (
        builder.inputs([e.instruction for e in examples], memory_index)
        if builder is not None and builder.needed
        else PlanInputs()
    )
    arrays = {"tokens": tokens, "types": types, "features": features, "edges": edges, "pair_mask": pair_mask}
    arrays |= {"models": models, "n_subtasks": n_subtasks}
    return PlanTensors(**{k: torch.from_numpy(v) for k, v in arrays.items()}, inputs=inputs)


@dataclass
class DecisionTensors:
    """Replayed routing decisions as tensors: observations (the routing keys), the logged model, and each one's log.

    Decisions are stored log by log (as :func:`~orchestai.envs.log_replay.replay_decisions`
    returns them): ``log_index`` is each decision's log, and ``offsets[k]:offsets[k + 1]``
    are the rows of log ``k``.
    """

    observations: dict[str, torch.Tensor]
    actions: torch.Tensor
    log_index: torch.Tensor
    offsets: torch.Tensor

    def __len__(self) -> int:
        return self.actions.shape[0]

    def of_logs(self, logs: Sequence[int]) -> DecisionTensors:
        """The decisions of the given logs, in that order, re-indexed: ``log_index`` becomes the position in ``logs``."""
        ranges = [torch.arange(int(self.offsets[k]), int(self.offsets[k + 1])) for k in logs]
        rows = torch.cat(ranges) if ranges else torch.zeros(0, dtype=torch.long)
        counts = torch.tensor([len(r) for r in ranges], dtype=torch.long)
        offsets = torch.cat([torch.zeros(1, dtype=torch.long), torch.cumsum(counts, 0)])
        return DecisionTensors(
            {k: v[rows] for k, v in self.observations.items()},
            self.actions[rows],
            torch.repeat_interleave(torch.arange(len(ranges)), counts),
            offsets,
        )

    @classmethod
    def of(cls, decisions: ReplayedDecisions, n_logs: int) -> DecisionTensors:
        """Tensors of :func:`~orchestai.envs.log_replay.replay_decisions`' output for ``n_logs`` logs."""
        log_index = torch.from_numpy(decisions.log_index)
        offsets = torch.searchsorted(log_index, torch.arange(n_logs + 1))
        return cls(
            {k: torch.from_numpy(v) for k, v in decisions.observations.items()},
            torch.from_numpy(decisions.actions),
            log_index,
            offsets,
        )
