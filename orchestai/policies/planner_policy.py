"""`PlannerPolicy`: an SB3 actor-critic whose actor is the PlannerModel's model selector.

The policy holds a whole :class:`~orchestai.planner.model.PlannerModel` (graph head
included, so the fine-tuned planner can still plan). For the env's current subtask it
scores the models with the planner's selector from the instruction encoding, the
subtask's type and features (``subtask_features`` plus its input quality), then adds
the output of an *execution branch*: an MLP over what logs never show (attempts,
model health, cost and time so far), and the output of a *model branch*: one small MLP
applied to every model alike, reading that model's published estimates for the
current subtask (``model_estimates``), its health this episode and the decision's
context (attempts left, input quality, progress). Both branches' last layers start at
zero, so right after initialisation the policy acts exactly like the Phase 1 selector. The action
mask from the observation is applied to the logits, so plain PPO never samples a
model that cannot do the subtask. The value head is new. Where the observation has an
``instruction_embedding`` (``orchestai/RouterBench-v0`` with ``prompt_features="minilm"``),
a linear projection of it, zero at first, is added to the instruction summary (or, with
``read_words=False``, is the summary: the policy then reads the prompt only through the
pretrained encoder, which generalises better from RouterBench's 1,764 training prompts).

Weights from a Phase 1 checkpoint are loaded by :func:`load_phase1_weights` *after*
SB3 has built the policy (SB3's orthogonal initialisation would overwrite them).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from gymnasium import spaces
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.distributions import CategoricalDistribution
from stable_baselines3.common.policies import ActorCriticPolicy
from torch import nn

from orchestai.envs import INSTRUCTION_EMBEDDING_KEY as EMBEDDING_KEY
from orchestai.planner.checkpoint import check_world, read_checkpoint
from orchestai.planner.model import NEG_INF, PlannerConfig, PlannerModel, PlannerVocabulary


def current_row(obs: dict[str, torch.Tensor], key: str) -> torch.Tensor:
    """The current subtask's row ``(B, F)`` of a per-subtask table ``obs[key]`` ``(B, N, F)``."""
    return (obs[key].float() * obs["current_subtask"].float().unsqueeze(-1)).sum(1)


def selector_logits_for_observation(
    planner: PlannerModel, obs: dict[str, torch.Tensor], extra_summary: torch.Tensor | None = None, read_words: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """The planner selector's logits ``(B, M)`` for the env's current subtask, and the summary ``(B, d)``.

    ``extra_summary`` (e.g. a projected sentence embedding of the instruction) is added to
    the planner's own instruction summary, or replaces it when ``read_words`` is False.
    """
    if read_words:
        summary = planner.summarize(obs["instruction"])
        if extra_summary is not None:
            summary = summary + extra_summary
    elif extra_summary is not None:
        summary = extra_summary
    else:
        raise ValueError("with read_words=False the policy needs an extra summary (an instruction embedding)")
    current = obs["current_subtask"].float()
    index = current.argmax(1, keepdim=True)
    task_type = (obs["subtask_types"].long().gather(1, index) - 1).clamp(min=0)
    features = torch.cat([current_row(obs, "subtask_features"), current_row(obs, "subtask_state")[:, 5:6]], dim=1).unsqueeze(1)
    return planner.selector_logits(summary, task_type, features)[:, 0], summary


def execution_features(obs: dict[str, torch.Tensor]) -> torch.Tensor:
    """What the execution branch reads: progress, the current subtask's state and type, model health.

    The type lets the branch adjust per type (e.g. a stronger model on a last retry).
    """
    return torch.cat(
        [obs["progress"].float(), current_row(obs, "subtask_state"), obs["current_type"].float(), obs["model_health"].float().flatten(1)], dim=1
    )


def model_features(obs: dict[str, torch.Tensor]) -> torch.Tensor:
    """What the model branch reads, per model ``(B, M, F)``: its published estimates and health, and the decision's context.

    Estimates (success probability, cost, latency for the current subtask) enter as
    probability, log-probability, log-cost and latency, and as the terms of an
    expected-utility score; the context (progress, the current subtask's state and
    static features) is the same for every model.
    """
    estimates = obs["model_estimates"].float()
    success, cost, latency = estimates[..., 0:1], estimates[..., 1:2], estimates[..., 2:3]
    attempts_left = obs["progress"].float()[:, 6:7].unsqueeze(1)
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
    context = torch.cat([obs["progress"].float(), current_row(obs, "subtask_state"), current_row(obs, "subtask_features")], dim=1)
    return torch.cat([per_model, context.unsqueeze(1).expand(-1, per_model.shape[1], -1)], dim=-1)


def remaining_work(obs: dict[str, torch.Tensor], n_types: int) -> torch.Tensor:
    """For the value head: per task type, how many subtasks are not done yet (/ 4), and the current type."""
    types = obs["subtask_types"].long()
    open_subtasks = (types > 0).float() * (1.0 - obs["subtask_state"].float()[..., 0])
    counts = torch.zeros(types.shape[0], n_types + 1, device=types.device).scatter_add_(1, types, open_subtasks)
    return torch.cat([counts[:, 1:] / 4.0, obs["current_type"].float()], dim=1)


class _PlannerActorCritic:
    """The modules and computations shared by the PPO and MaskablePPO variants.

    Listed first among the bases, so its ``__init__``, ``_build`` and
    ``_get_constructor_parameters`` wrap the SB3 policy's.
    """

    planner: PlannerModel
    execution_branch: nn.Sequential
    model_branch: nn.Sequential
    value_head: nn.Sequential
    action_dist: CategoricalDistribution

    def __init__(
        self,
        observation_space: spaces.Dict,
        action_space: spaces.Discrete,
        lr_schedule: Any,
        planner_config: dict[str, Any],
        vocabulary: dict[str, Any],
        hidden: int = 64,
        read_words: bool = True,
        **kwargs: Any,
    ) -> None:
        self._planner_kwargs = {
            "planner_config": planner_config, "vocabulary": vocabulary, "hidden": hidden, "read_words": read_words,
        }  # fmt: skip
        kwargs.setdefault("ortho_init", False)
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _build(self, lr_schedule: Any) -> None:
        # replaces SB3's _build: no mlp_extractor, no orthogonal initialisation
        self._build_planner_modules(**self._planner_kwargs)
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(self._planner_kwargs)
        return data

    def _build_planner_modules(
        self, planner_config: dict[str, Any], vocabulary: dict[str, Any], hidden: int, read_words: bool
    ) -> None:
        self.read_words = read_words
        self.planner = PlannerModel(PlannerConfig(**planner_config), PlannerVocabulary(**vocabulary))
        n_models = self.planner.vocabulary.n_models
        space = self.observation_space
        n_execution = (
            space["progress"].shape[0]
            + space["subtask_state"].shape[1]
            + space["current_type"].shape[0]
            + int(torch.tensor(space["model_health"].shape).prod())
        )
        self.execution_branch = nn.Sequential(nn.Linear(n_execution, hidden), nn.Tanh(), nn.Linear(hidden, n_models))
        nn.init.zeros_(self.execution_branch[-1].weight)
        nn.init.zeros_(self.execution_branch[-1].bias)
        # one scorer shared by all models: what a model's estimates and health mean for
        # its logit is the same for every model, so it is learnt once
        n_per_model = (
            7 + space["model_health"].shape[1] + space["progress"].shape[0]
            + space["subtask_state"].shape[1] + space["subtask_features"].shape[1]
        )  # fmt: skip
        self.model_branch = nn.Sequential(nn.Linear(n_per_model, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        nn.init.zeros_(self.model_branch[-1].weight)
        nn.init.zeros_(self.model_branch[-1].bias)
        d, n_types = self.planner.config.d_model, self.planner.vocabulary.n_types
        self.embedding_projection: nn.Linear | None = None
        if not read_words and EMBEDDING_KEY not in space.spaces:
            raise ValueError(f"read_words=False needs an {EMBEDDING_KEY!r} observation (RouterBench-v0 with prompt_features='minilm')")
        if EMBEDDING_KEY in space.spaces:
            # a pretrained sentence embedding of the instruction, when the env offers one;
            # zero at first, so the policy starts as the planner's selector
            self.embedding_projection = nn.Linear(space[EMBEDDING_KEY].shape[0], d)
            nn.init.zeros_(self.embedding_projection.weight)
            nn.init.zeros_(self.embedding_projection.bias)
        self.value_head = nn.Sequential(nn.Linear(d + n_execution + 2 * n_types, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def _heads(
        self, obs: dict[str, torch.Tensor], action_masks: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Masked action logits ``(B, M)`` and values ``(B, 1)``."""
        extra = self.embedding_projection(obs[EMBEDDING_KEY].float()) if self.embedding_projection is not None else None
        selector, summary = selector_logits_for_observation(self.planner, obs, extra, self.read_words)
        execution = execution_features(obs)
        logits = selector + self.execution_branch(execution) + self.model_branch(model_features(obs)).squeeze(-1)
        mask = obs["action_mask"].bool()
        if action_masks is not None:
            mask = mask & torch.as_tensor(action_masks, dtype=torch.bool, device=mask.device).reshape(mask.shape)
        logits = logits.masked_fill(~mask, NEG_INF)
        remaining = remaining_work(obs, self.planner.vocabulary.n_types)
        values = self.value_head(torch.cat([summary, execution, remaining], dim=1))
        return logits, values

    def _distribution(self, logits: torch.Tensor) -> CategoricalDistribution:
        return self.action_dist.proba_distribution(action_logits=logits)


class PlannerPolicy(_PlannerActorCritic, ActorCriticPolicy):
    """PPO policy (``ActorCriticPolicy``) built around a PlannerModel.

    ``planner_config`` and ``vocabulary`` (plain dicts, as stored in planner checkpoints)
    are policy kwargs, so ``PPO.load`` rebuilds the policy without the Phase 1 file.
    """

    def forward(
        self, obs: dict[str, torch.Tensor], deterministic: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Actions, values and log-probabilities for a batch of observations."""
        logits, values = self._heads(obs)
        distribution = self._distribution(logits)
        actions = distribution.get_actions(deterministic=deterministic)
        return actions, values, distribution.log_prob(actions)

    def evaluate_actions(
        self, obs: dict[str, torch.Tensor], actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Values, log-probabilities and entropy of given actions."""
        logits, values = self._heads(obs)
        distribution = self._distribution(logits)
        return values, distribution.log_prob(actions), distribution.entropy()

    def get_distribution(self, obs: dict[str, torch.Tensor]) -> CategoricalDistribution:
        """The action distribution."""
        return self._distribution(self._heads(obs)[0])

    def predict_values(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """State values."""
        return self._heads(obs)[1]


class MaskablePlannerPolicy(_PlannerActorCritic, MaskableActorCriticPolicy):
    """The same policy for sb3-contrib's ``MaskablePPO`` (``MaskableActorCriticPolicy``)."""

    def forward(
        self, obs: dict[str, torch.Tensor], deterministic: bool = False, action_masks: Any = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Actions, values and log-probabilities for a batch of observations."""
        logits, values = self._heads(obs, action_masks)
        distribution = self._distribution(logits)
        actions = distribution.get_actions(deterministic=deterministic)
        return actions, values, distribution.log_prob(actions)

    def evaluate_actions(
        self, obs: dict[str, torch.Tensor], actions: torch.Tensor, action_masks: Any = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Values, log-probabilities and entropy of given actions."""
        logits, values = self._heads(obs, action_masks)
        distribution = self._distribution(logits)
        return values, distribution.log_prob(actions), distribution.entropy()

    def get_distribution(self, obs: dict[str, torch.Tensor], action_masks: Any = None) -> CategoricalDistribution:
        """The action distribution."""
        return self._distribution(self._heads(obs, action_masks)[0])

    def predict_values(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """State values."""
        return self._heads(obs)[1]


def planner_policy_kwargs(checkpoint: dict[str, Any], hidden: int = 64) -> dict[str, Any]:
    """Policy kwargs that rebuild the planner stored in a checkpoint dict."""
    return {
        "planner_config": dict(checkpoint["planner_config"]),
        "vocabulary": dict(checkpoint["vocabulary"]),
        "hidden": hidden,
    }


def planner_policy_kwargs_for_world(
    world: Any, planner_config: PlannerConfig, hidden: int = 64, read_words: bool = True
) -> dict[str, Any]:
    """Policy kwargs for a fresh (untrained) planner of ``world``: the from-scratch ablation."""
    from orchestai.phase1.train import vocabulary_for_world

    return {
        "planner_config": dataclasses.asdict(planner_config),
        "vocabulary": dataclasses.asdict(vocabulary_for_world(world)),
        "hidden": hidden,
        "read_words": read_words,
    }


def load_phase1_weights(
    policy: _PlannerActorCritic, path: str, world_signature: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    """Copy a Phase 1 checkpoint's planner weights into a built policy; returns the checkpoint dict."""
    checkpoint = read_checkpoint(path)
    if world_signature is not None:
        check_world(checkpoint, world_signature, path)
    policy.planner.load_state_dict(checkpoint["model_state_dict"])
    return checkpoint
