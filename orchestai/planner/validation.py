"""Validation of a planner: example-weighted losses and TaskBench-style plan metrics."""

from __future__ import annotations

import torch

from orchestai.planner.inference import decode_plans
from orchestai.planner.losses import LossWeights, decision_losses, losses_from_outputs
from orchestai.planner.metrics import Plan, plan_metrics
from orchestai.planner.model import PlannerModel
from orchestai.planner.tensors import DecisionTensors, PlanTensors

METRIC_KEYS = (
    "type_accuracy", "node_f1", "edge_f1", "edge_f1_position", "model_accuracy", "routing_accuracy",
    "decision_accuracy", "valid_dag",
)  # fmt: skip
_SHORT_NAMES = {
    "type_accuracy": "type_acc",
    "edge_f1_position": "edge_f1_pos",
    "model_accuracy": "model_acc",
    "routing_accuracy": "route_acc",
    "decision_accuracy": "decision_acc",
}


@torch.no_grad()
def validate(
    model: PlannerModel,
    data: PlanTensors,
    gold: list[Plan],
    weights: LossWeights,
    edge_threshold: float = 0.5,
    decisions: DecisionTensors | None = None,
) -> tuple[dict[str, float], dict[str, float]]:
    """Validation losses (example-weighted means) and plan metrics, from one forward pass per chunk.

    With ``decisions``, also the routing loss (decision-weighted, added to the total
    with ``lambda_decision``) and ``decision_accuracy``.
    """
    model.eval()
    sums: dict[str, float] = {}
    plans: list[Plan] = []
    for start in range(0, len(data), 256):
        batch = data.select(slice(start, start + 256))
        encoding, type_logits, edge_logits = model.plan_heads(batch.tokens, batch.inputs)
        out = {
            "type_logits": type_logits,
            "edge_logits": edge_logits,
            "model_logits": model.selector_logits(encoding.summary, batch.types, batch.features),
        }
        for key, value in losses_from_outputs(model, out, batch, weights).items():
            sums[key] = sums.get(key, 0.0) + float(value) * len(batch)
        if decisions is not None:
            chosen = decisions.of_logs(range(start, start + len(batch)))
            if len(chosen):
                loss, hits = decision_losses(model, chosen, encoding.summary[chosen.log_index])
                sums["_decision_loss"] = sums.get("_decision_loss", 0.0) + float(loss) * len(chosen)
                sums["_decision_hits"] = sums.get("_decision_hits", 0.0) + float(hits)
        plans.extend(decode_plans(model, encoding.summary, out["type_logits"], out["edge_logits"], edge_threshold))
        if model.vocabulary.n_models:
            known = batch.models >= 0
            hits = (out["model_logits"].argmax(-1)[known] == batch.models[known]).sum()
            sums["_routing_hits"] = sums.get("_routing_hits", 0.0) + float(hits)
            sums["_routing_total"] = sums.get("_routing_total", 0.0) + float(known.sum())
    metrics = plan_metrics(plans, gold, model.vocabulary.type_names)
    if sums.get("_routing_total"):
        metrics["routing_accuracy"] = sums.pop("_routing_hits") / sums.pop("_routing_total")
    losses = {key: value / len(data) for key, value in sums.items() if not key.startswith("_")}
    if decisions is not None and len(decisions):
        losses["decision"] = sums["_decision_loss"] / len(decisions)
        losses["total"] += weights.lambda_decision * losses["decision"]
        metrics["decision_accuracy"] = sums["_decision_hits"] / len(decisions)
    return losses, metrics


def format_metrics(metrics: dict[str, float]) -> str:
    """The plan metrics on one line, in a fixed order."""
    return " ".join(f"{_SHORT_NAMES.get(k, k)} {metrics[k]:.3f}" for k in METRIC_KEYS if k in metrics)
