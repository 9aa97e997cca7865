"""Turning PlannerModel outputs into plans (always DAGs, always capable models)."""

from __future__ import annotations

import numpy as np
import torch

from orchestai.planner.dag import decode_dag, feed_where_allowed
from orchestai.planner.metrics import Plan
from orchestai.planner.model import PlannerModel
from orchestai.planner.tensors import PlanTensors
from orchestai.world.workflow import (
    SUBTASK_FEATURES,
    SubtaskFeature,
    selector_feature_matrix,
    subtask_feature_matrix,
    topological_order,
)


@torch.no_grad()
def predict_plans(model: PlannerModel, batch: PlanTensors, edge_threshold: float = 0.5, chunk: int = 256) -> list[Plan]:
    """Decode one plan per example: types until the first "no subtask" slot, a DAG, a model each."""
    model.eval()
    plans: list[Plan] = []
    for start in range(0, len(batch), chunk):
        part = batch.select(slice(start, start + chunk))
        encoding, type_logits, edge_logits = model.plan_heads(part.tokens, part.inputs)
        plans.extend(decode_plans(model, encoding.summary, type_logits, edge_logits, edge_threshold))
    return plans


@torch.no_grad()
def decode_plans(
    model: PlannerModel,
    summary: torch.Tensor,
    type_logits: torch.Tensor,
    edge_logits: torch.Tensor,
    edge_threshold: float = 0.5,
) -> list[Plan]:
    """Plans from the heads' outputs for a batch (see :func:`predict_plans`)."""
    vocabulary = model.vocabulary
    allowed = vocabulary.allowed_matrix()
    allowed_np = allowed.numpy() if allowed is not None else None
    constrained = allowed_np is not None or not vocabulary.repeat_types
    penalty = model.config.graph_penalty
    log_probabilities = torch.log_softmax(type_logits.float(), -1).numpy()
    type_ids = type_logits.argmax(-1).numpy()
    edge_probabilities = torch.sigmoid(edge_logits).numpy()
    decoded = []
    for k in range(len(type_ids)):
        if constrained:
            types = beam_types(
                log_probabilities[k],
                model.none_class,
                None if vocabulary.unfed_steps else allowed_np,
                vocabulary.repeat_types,
                penalty=penalty,
            )
        else:
            ends = np.flatnonzero(type_ids[k] == model.none_class)
            types = tuple(int(t) for t in type_ids[k, : int(ends[0]) if len(ends) else vocabulary.max_subtasks])
        n = len(types)
        probabilities = edge_probabilities[k]
        inside = allowed_np[np.ix_(types, types)] if allowed_np is not None else None
        if inside is not None:  # edges the catalogue's graph allows (others times the penalty)
            probabilities = probabilities.copy()
            probabilities[:n, :n] *= np.where(inside, 1.0, penalty)
        parents = decode_dag(probabilities, n, edge_threshold)
        if inside is not None and vocabulary.fed_where_allowed:
            parents = feed_where_allowed(parents, probabilities, inside)
        decoded.append((types, tuple(parents)))
    if vocabulary.n_models:
        return _choose_models(model, summary, decoded)
    return [Plan(types, parents, tuple(-1 for _ in types)) for types, parents in decoded]


def beam_types(
    log_probabilities: np.ndarray,
    none_class: int,
    allowed: np.ndarray | None,
    repeats: bool,
    width: int = 4,
    penalty: float = 0.0,
) -> tuple[int, ...]:
    """The most likely type sequence of one plan (``(N, T+1)`` slot log-probabilities) under the catalogue's rules.

    The plan's length is decided first, on the marginal "is there a step here" (it ends at
    the first slot whose "no subtask" probability exceeds one half: a slot unsure *which*
    tool comes next is still sure *that* one does); then a beam search picks the types
    slot by slot: without ``repeats`` no type occurs twice, and with a graph
    (``allowed[i, j]``: type i may feed type j) a step after the first must be fed by an
    earlier one, unless no type could be (with ``penalty`` > 0, a type no earlier step
    may feed keeps its probability times ``penalty`` instead of none).
    """
    unfed = np.log(penalty) if penalty > 0 else -np.inf
    ends = np.flatnonzero(log_probabilities[:, none_class] > np.log(0.5))
    length = int(ends[0]) if len(ends) else log_probabilities.shape[0]
    beams: list[tuple[float, tuple[int, ...]]] = [(0.0, ())]
    for slot in range(length):
        candidates: list[tuple[float, tuple[int, ...]]] = []
        for score, types in beams:
            step = log_probabilities[slot, :none_class].copy()
            if not repeats and types:
                step[list(types)] = -np.inf
            if allowed is not None and types:
                fed = allowed[list(types)].any(0)
                if fed.any():
                    step[~fed] += unfed
            for t in np.argsort(-step)[:width]:
                if np.isfinite(step[t]):
                    candidates.append((score + float(step[t]), (*types, int(t))))
        if not candidates:
            break
        beams = sorted(candidates, key=lambda c: -c[0])[:width]
    return beams[0][1]


def _choose_models(model: PlannerModel, summary: torch.Tensor, decoded: list[tuple[tuple[int, ...], tuple]]) -> list[Plan]:
    """Pick each predicted subtask's model, level by level of the DAG: a subtask's input
    quality depends on the models chosen for its parents."""
    vocabulary = model.vocabulary
    batch, n_slots = len(decoded), vocabulary.max_subtasks
    skill = np.asarray(vocabulary.skill, dtype=np.float32)
    types_tensor = torch.zeros(batch, n_slots, dtype=torch.long)
    static = np.zeros((batch, n_slots, SUBTASK_FEATURES), dtype=np.float32)
    depth = np.zeros((batch, n_slots), dtype=np.int64)
    for k, (types, parents) in enumerate(decoded):
        types_tensor[k, : len(types)] = torch.tensor(types, dtype=torch.long)
        defaults = [vocabulary.default_tokens[t] for t in types]
        order = topological_order(parents)
        ordered_parents = [tuple(order.index(p) for p in parents[i]) for i in order]
        features = subtask_feature_matrix(
            [defaults[i][0] for i in order], [defaults[i][1] for i in order], ordered_parents, n_slots
        )
        static[k, order] = features[: len(order)]
        for position, i in enumerate(order):
            depth[k, i] = round(float(features[position, SubtaskFeature.DEPTH]) * n_slots)
    quality = np.ones((batch, n_slots), dtype=np.float32)
    chosen = np.full((batch, n_slots), -1, dtype=np.int64)
    for level in range(int(depth.max()) + 1 if batch else 0):
        selector_features = torch.from_numpy(selector_feature_matrix(static, quality))
        choice = model.selector_logits(summary, types_tensor, selector_features).argmax(-1).numpy()
        for k, (types, parents) in enumerate(decoded):
            for i in range(len(types)):
                if depth[k, i] == level:
                    chosen[k, i] = choice[k, i]
            for i in range(len(types)):
                if depth[k, i] == level + 1:
                    quality[k, i] = min((skill[types[p], chosen[k, p]] for p in parents[i]), default=1.0)
    return [Plan(types, parents, tuple(int(m) for m in chosen[k, : len(types)])) for k, (types, parents) in enumerate(decoded)]
