"""Routing one decision: the planner's scores for the models on the env's current subtask.

A routing decision reads an observation of ``orchestai/Workflow-v0`` (or of an env with
the same layout). Its logits are the sum of three parts, all inside the
:class:`~orchestai.planner.model.PlannerModel`:

* the **selector** (what planning uses too): instruction summary, the subtask's type
  and its static features plus input quality;
* the **execution branch**: an MLP over the execution state (attempts, model health,
  cost and time so far), one logit per model;
* the **model branch**: one small MLP applied to every model alike, reading that
  model's published estimates for the subtask, its health this episode and the
  decision's context.

Both branches' last layers start at zero. Phase 1 trains all three on the logged
decisions (replayed by :class:`~orchestai.envs.log_replay.LogReplayEnv`); PPO then
fine-tunes them.
"""

from __future__ import annotations

import torch
from torch import nn

from orchestai.envs.spaces import MODEL_HEALTH, PROGRESS, SUBTASK_STATE, ModelEstimate, Progress, SubtaskState
from orchestai.world.workflow import SUBTASK_FEATURES

# the observation keys a routing decision reads (what Phase 1 keeps of a replayed decision)
ROUTING_KEYS = (
    "instruction", "subtask_types", "subtask_features", "subtask_state", "current_subtask",
    "current_type", "action_mask", "model_health", "model_estimates", "progress",
)  # fmt: skip
_MODEL_TERMS = 7  # per-model estimate terms of model_features (before the health columns)


def current_row(obs: dict[str, torch.Tensor], key: str) -> torch.Tensor:
    """The current subtask's row ``(B, F)`` of a per-subtask table ``obs[key]`` ``(B, N, F)``."""
    return (obs[key].float() * obs["current_subtask"].float().unsqueeze(-1)).sum(1)


def current_type(obs: dict[str, torch.Tensor]) -> torch.Tensor:
    """The current subtask's type index ``(B, 1)``."""
    index = obs["current_subtask"].float().argmax(1, keepdim=True)
    return (obs["subtask_types"].long().gather(1, index) - 1).clamp(min=0)


def selector_features(obs: dict[str, torch.Tensor]) -> torch.Tensor:
    """What the selector reads of the current subtask ``(B, 1, 7)``: its static features and input quality."""
    return torch.cat(
        [current_row(obs, "subtask_features"), current_row(obs, "subtask_state")[:, SubtaskState.INPUT_QUALITY, None]], dim=1
    ).unsqueeze(1)


def execution_features(obs: dict[str, torch.Tensor]) -> torch.Tensor:
    """What the execution branch reads: progress, the current subtask's state and type, model health.

    The type lets the branch adjust per type (e.g. a stronger model on a last retry).
    """
    return torch.cat(
        [
            obs["progress"].float(),
            current_row(obs, "subtask_state"),
            obs["current_type"].float(),
            obs["model_health"].float().flatten(1),
        ],
        dim=1,
    )


def model_features(obs: dict[str, torch.Tensor]) -> torch.Tensor:
    """What the model branch reads, per model ``(B, M, F)``: its published estimates and health, and the decision's context.

    Estimates (success probability, cost, latency for the current subtask) enter as
    probability, log-probability, log-cost and latency, and as the terms of an
    expected-utility score; the context (progress, the current subtask's state and
    static features) is the same for every model.
    """
    estimates = obs["model_estimates"].float()
    success = estimates[..., ModelEstimate.SUCCESS, None]
    cost = estimates[..., ModelEstimate.COST, None]
    latency = estimates[..., ModelEstimate.LATENCY, None]
    attempts_left = obs["progress"].float()[:, Progress.ATTEMPTS_LEFT, None].unsqueeze(1)
    capable = (success > 0).float()
    per_model = torch.cat(
        [
            success,
            torch.log(success + 1e-3),
            torch.log(cost + 1e-6) / 10.0,
            latency,
            # the terms of an expected-utility score, spelt out: expected spend until a
            # success, and the probability that every remaining attempt fails
            capable * latency / (success + 0.05),
            capable * torch.log(cost / (success + 0.05) + 1e-6) / 10.0,
            torch.exp(torch.log1p(-success.clamp(max=0.999)) * attempts_left),
            obs["model_health"].float(),
        ],
        dim=-1,
    )
    context = torch.cat(
        [obs["progress"].float(), current_row(obs, "subtask_state"), current_row(obs, "subtask_features")], dim=1
    )
    return torch.cat([per_model, context.unsqueeze(1).expand(-1, per_model.shape[1], -1)], dim=-1)


def execution_feature_size(n_types: int, n_models: int) -> int:
    """Width of :func:`execution_features` for a world of ``n_types`` types and ``n_models`` models."""
    return PROGRESS + SUBTASK_STATE + n_types + n_models * MODEL_HEALTH


class RoutingBranches(nn.Module):
    """The execution branch and the model branch, added to the selector's logits.

    Both last layers start at zero, so a fresh planner routes exactly as its selector.
    """

    def __init__(self, n_types: int, n_models: int, hidden: int) -> None:
        super().__init__()
        execution_out = nn.Linear(hidden, n_models)
        self.execution_branch = nn.Sequential(
            nn.Linear(execution_feature_size(n_types, n_models), hidden), nn.Tanh(), execution_out
        )
        # one scorer shared by all models: what a model's estimates and health mean for
        # its logit is the same for every model, so it is learnt once
        n_per_model = _MODEL_TERMS + MODEL_HEALTH + PROGRESS + SUBTASK_STATE + SUBTASK_FEATURES
        model_out = nn.Linear(hidden, 1)
        self.model_branch = nn.Sequential(nn.Linear(n_per_model, hidden), nn.Tanh(), model_out)
        for last in (execution_out, model_out):
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The branches' contribution ``(B, M)`` to the routing logits."""
        return self.execution_branch(execution_features(obs)) + self.model_branch(model_features(obs)).squeeze(-1)
