"""`PlannerPolicy`: an SB3 actor-critic whose actor is the PlannerModel's router.

The policy holds a whole :class:`~orchestai.planner.model.PlannerModel` (graph head
included, so the fine-tuned planner can still plan). Its action logits are the
planner's :meth:`~orchestai.planner.model.PlannerModel.routing_logits` for the env's
current subtask: the selector's scores (instruction summary, the subtask's type and
features) plus the routing branches' (execution state, and each model's published
estimates and health; see :mod:`orchestai.planner.routing`), masked with the
observation's action mask, so plain PPO never samples a model that cannot do the
subtask. Right after initialisation from a Phase 1 checkpoint the policy therefore acts
exactly like the Phase 1 planner; a fresh planner's branches start at zero. The value
head is new. Where the observation has an ``instruction_embedding``
(``orchestai/RouterBench-v0`` with ``prompt_features="minilm"``), a linear projection of
it, zero at first, is added to the instruction summary (or, with ``read_words=False``,
is the summary: the policy then reads the prompt only through the pretrained encoder,
which generalises better from RouterBench's 1,764 training prompts).

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
from orchestai.planner.routing import execution_feature_size, execution_features


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
        space = self.observation_space
        if self.planner.routing is None:
            raise ValueError("the planner has no models to route to; build it from a world's vocabulary")
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
        n_execution = execution_feature_size(n_types, self.planner.vocabulary.n_models)
        self.value_head = nn.Sequential(nn.Linear(d + n_execution + 2 * n_types, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def _heads(
        self, obs: dict[str, torch.Tensor], action_masks: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Masked action logits ``(B, M)`` and values ``(B, 1)``."""
        extra = self.embedding_projection(obs[EMBEDDING_KEY].float()) if self.embedding_projection is not None else None
        logits, summary = self.planner.routing_logits(obs, extra, self.read_words)
        if action_masks is not None:
            mask = torch.as_tensor(action_masks, dtype=torch.bool, device=logits.device).reshape(logits.shape)
            logits = logits.masked_fill(~mask, NEG_INF)
        execution = execution_features(obs)
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
