"""Plan-quality metrics: per-slot type accuracy, node and edge F1, model accuracy, DAG validity.

Node and link F1 compare names: a node is its task type's name, a link the pair
"source name, target name". ``node_f1`` / ``edge_f1`` are TaskBench's micro F1: each
record's names taken as a set, true positives, predictions and gold items pooled over
records. ``node_f1_record`` / ``edge_f1_record`` are GNN4TaskPlan's ``evaluate.py``
F1: per record, the size of the intersection of the two sets over the length of the
predicted list (precision) and of the gold list (recall), 0 when either is empty,
averaged over records; when names repeat within a plan (long synthetic workflows) it
stays below 1 even for a perfect plan. ``edge_f1_position`` compares edges as (parent
index, child index) pairs, per record and averaged: it demands the right subtask order.
``length_accuracy`` is the share of plans with the gold number of subtasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orchestai.world.workflow import topological_order


@dataclass(frozen=True)
class Plan:
    """A plan: subtask types, parents per subtask, and a model per subtask (-1: none)."""

    types: tuple[int, ...]
    parents: tuple[tuple[int, ...], ...]
    models: tuple[int, ...] = ()

    def edges(self) -> list[tuple[int, int]]:
        """(parent, child) index pairs."""
        return [(p, c) for c, ps in enumerate(self.parents) for p in ps]


def record_f1(predicted: Sequence[object], gold: Sequence[object]) -> float:
    """GNN4TaskPlan's per-record F1."""
    if not predicted or not gold:
        return 0.0
    hits = len(set(predicted) & set(gold))
    precision, recall = hits / len(predicted), hits / len(gold)
    return 2 * precision * recall / (precision + recall) if hits else 0.0


def pooled_f1(predicted: Sequence[Sequence[object]], gold: Sequence[Sequence[object]]) -> float:
    """Micro F1 over records, each record's items taken as a set."""
    hits = sum(len(set(p) & set(g)) for p, g in zip(predicted, gold, strict=True))
    n_pred = sum(len(set(p)) for p in predicted)
    n_gold = sum(len(set(g)) for g in gold)
    if not hits:
        return 0.0
    precision, recall = hits / n_pred, hits / n_gold
    return 2 * precision * recall / (precision + recall)


def is_dag(parents: Sequence[Sequence[int]]) -> bool:
    """Whether parent lists describe an acyclic graph over valid indices."""
    n = len(parents)
    if any(not 0 <= p < n or p == i for i, ps in enumerate(parents) for p in ps):
        return False
    try:
        topological_order(parents)
    except ValueError:
        return False
    return True


def plan_metrics(predicted: Sequence[Plan], gold: Sequence[Plan], type_names: Sequence[str]) -> dict[str, float]:
    """All plan metrics of ``predicted`` against ``gold`` (aligned lists)."""
    if len(predicted) != len(gold) or not gold:
        raise ValueError("need the same, non-zero number of predicted and gold plans")
    slot_hits = slot_total = 0
    model_hits = model_total = 0
    exact = 0
    pred_nodes, gold_nodes, pred_links, gold_links, pred_pos, gold_pos = [], [], [], [], [], []
    for p, g in zip(predicted, gold, strict=True):
        for i, t in enumerate(g.types):
            slot_total += 1
            slot_hits += int(i < len(p.types) and p.types[i] == t)
        for i, m in enumerate(g.models):
            if m >= 0:
                model_total += 1
                model_hits += int(i < len(p.models) and p.models[i] == m)
        pred_nodes.append([type_names[t] for t in p.types])
        gold_nodes.append([type_names[t] for t in g.types])
        pred_links.append([f"{type_names[p.types[a]]}, {type_names[p.types[b]]}" for a, b in p.edges()])
        gold_links.append([f"{type_names[g.types[a]]}, {type_names[g.types[b]]}" for a, b in g.edges()])
        pred_pos.append(p.edges())
        gold_pos.append(g.edges())
        exact += int(p.types == g.types and set(p.edges()) == set(g.edges()))
    n = len(gold)

    def mean_record_f1(a: list, b: list) -> float:
        return sum(record_f1(x, y) for x, y in zip(a, b, strict=True)) / n

    result = {
        "type_accuracy": slot_hits / slot_total,
        "node_f1": pooled_f1(pred_nodes, gold_nodes),
        "edge_f1": pooled_f1(pred_links, gold_links),
        "node_f1_record": mean_record_f1(pred_nodes, gold_nodes),
        "edge_f1_record": mean_record_f1(pred_links, gold_links),
        # a plan with no edges predicted for a gold plan with none is right
        "edge_f1_position": sum(1.0 if not x and not y else record_f1(x, y) for x, y in zip(pred_pos, gold_pos, strict=True))
        / n,
        "exact_plan": exact / n,
        "length_accuracy": sum(len(p.types) == len(g.types) for p, g in zip(predicted, gold, strict=True)) / n,
        "valid_dag": sum(is_dag(p.parents) for p in predicted) / n,
    }
    if model_total:
        result["model_accuracy"] = model_hits / model_total
    return result
