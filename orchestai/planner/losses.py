"""Phase 1's training losses: plan (types, models, edges, DAG penalty) and replayed routing decisions."""

from __future__ import annotations

from typing import Protocol

import torch
from torch.nn import functional as F

from orchestai.planner.dag import notears_dag_loss
from orchestai.planner.model import PlannerModel
from orchestai.planner.tensors import IGNORE, DecisionTensors, PlanTensors


class LossWeights(Protocol):
    """The loss weights (``Phase1Config`` has them)."""

    @property
    def lambda_type(self) -> float: ...  # noqa: D102
    @property
    def lambda_model(self) -> float: ...  # noqa: D102
    @property
    def lambda_edge(self) -> float: ...  # noqa: D102
    @property
    def lambda_dag(self) -> float: ...  # noqa: D102
    @property
    def lambda_decision(self) -> float: ...  # noqa: D102


def decision_losses(
    model: PlannerModel, decisions: DecisionTensors, summary: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of the planner's routing logits against the logged models, and the number of hits.

    ``summary`` ``(D, d)`` is each decision's instruction summary, as the forward pass
    over the decisions' logs computed it.
    """
    logits, _ = model.routing_logits(decisions.observations, summary, read_words=False)
    return F.cross_entropy(logits, decisions.actions), (logits.argmax(1) == decisions.actions).sum()


def compute_losses(
    model: PlannerModel, batch: PlanTensors, weights: LossWeights, decisions: DecisionTensors | None = None
) -> dict[str, torch.Tensor]:
    """Type CE, model CE, edge BCE, DAG loss and their weighted total for one batch.

    With ``decisions`` (the replayed routing decisions of the batch's logs, in batch
    order), also the routing loss, reading the summaries the batch's forward pass
    computed, added with ``lambda_decision``.
    """
    out = model(batch.tokens, batch.types, batch.features, batch.inputs)
    losses = losses_from_outputs(model, out, batch, weights)
    if decisions is not None and len(decisions):
        losses["decision"] = decision_losses(model, decisions, out["summary"][decisions.log_index])[0]
        losses["total"] = losses["total"] + weights.lambda_decision * losses["decision"]
    return losses


def losses_from_outputs(
    model: PlannerModel, out: dict[str, torch.Tensor], batch: PlanTensors, weights: LossWeights
) -> dict[str, torch.Tensor]:
    """The losses of :func:`compute_losses` from already computed model outputs."""
    n_classes = out["type_logits"].shape[-1]
    type_loss = F.cross_entropy(out["type_logits"].reshape(-1, n_classes), batch.types.reshape(-1))
    if model.vocabulary.n_models and (batch.models != IGNORE).any():
        logits = out["model_logits"]
        model_loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch.models.reshape(-1), ignore_index=IGNORE)
    else:
        model_loss = torch.zeros(())
    mask = batch.pair_mask
    edge_loss = (
        F.binary_cross_entropy_with_logits(out["edge_logits"][mask], batch.edges[mask]) if mask.any() else torch.zeros(())
    )
    probabilities = torch.sigmoid(out["edge_logits"]) * mask
    dag_loss = notears_dag_loss(probabilities).mean()
    total = (
        weights.lambda_type * type_loss
        + weights.lambda_model * model_loss
        + weights.lambda_edge * edge_loss
        + weights.lambda_dag * dag_loss
    )
    return {
        "total": total,
        "ce": type_loss + model_loss,
        "type": type_loss,
        "model": model_loss,
        "edge": edge_loss,
        "dag": dag_loss,
    }
