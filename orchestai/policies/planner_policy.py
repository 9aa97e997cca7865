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

Weights from a Phase 1 checkpoint are loaded into ``policy.planner`` *after* SB3 has
built the policy (``orchestai.phase2.build.build_model``), since SB3's initialisation
would overwrite them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from gymnasium import spaces
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from orchestai.envs.spaces import INSTRUCTION_EMBEDDING as EMBEDDING_KEY
from orchestai.envs.spaces import SubtaskState
from orchestai.planner.model import PlannerConfig, PlannerModel, PlannerVocabulary
from orchestai.planner.routing import execution_feature_size, execution_features
from orchestai.planner.vocabulary import vocabulary_for_world
from orchestai.world.world import World


def remaining_work(obs: dict[str, torch.Tensor], n_types: int) -> torch.Tensor:
    """For the value head: per task type, how many subtasks are not done yet (/ 4), and the current type."""
    types = obs["subtask_types"].long()
    open_subtasks = (types > 0).float() * (1.0 - obs["subtask_state"].float()[..., SubtaskState.DONE])
    counts = torch.zeros(types.shape[0], n_types + 1, device=types.device).scatter_add_(1, types, open_subtasks)
    return torch.cat([counts[:, 1:] / 4.0, obs["current_type"].float()], dim=1)


class PlannerFeaturesExtractor(BaseFeaturesExtractor):
    """SB3 features extractor holding the whole PlannerModel: observation -> [routing logits | value inputs].

    The first ``n_models`` features are the planner's masked routing logits for the
    current subtask; the rest (instruction summary, execution state, remaining work per
    type) are what the value head reads. :class:`PlannerHeads` splits them again.
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        planner_config: dict[str, Any],
        vocabulary: dict[str, Any],
        read_words: bool = True,
    ) -> None:
        planner = PlannerModel(PlannerConfig(**planner_config), PlannerVocabulary(**vocabulary))
        if planner.routing is None:
            raise ValueError("the planner has no models to route to; build it from a world's vocabulary")
        d, n_types, n_models = planner.config.d_model, planner.vocabulary.n_types, planner.vocabulary.n_models
        self.n_models = n_models
        self.value_inputs = d + execution_feature_size(n_types, n_models) + 2 * n_types
        super().__init__(observation_space, features_dim=n_models + self.value_inputs)
        self.planner = planner
        self.read_words = read_words
        self.embedding_projection: nn.Linear | None = None
        if not read_words and EMBEDDING_KEY not in observation_space.spaces:
            raise ValueError(
                f"read_words=False needs an {EMBEDDING_KEY!r} observation (RouterBench-v0 with prompt_features='minilm')"
            )
        if EMBEDDING_KEY in observation_space.spaces:
            # a pretrained sentence embedding of the instruction, when the env offers one;
            # zero at first, so the policy starts as the planner's selector
            size = observation_space.spaces[EMBEDDING_KEY].shape
            assert size is not None
            self.embedding_projection = nn.Linear(size[0], d)
            nn.init.zeros_(self.embedding_projection.weight)
            nn.init.zeros_(self.embedding_projection.bias)

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        """Routing logits ``(B, M)`` and value inputs ``(B, V)``, concatenated."""
        obs = observations
        extra = self.embedding_projection(obs[EMBEDDING_KEY].float()) if self.embedding_projection is not None else None
        logits, summary = self.planner.routing_logits(obs, extra, self.read_words)
        remaining = remaining_work(obs, self.planner.vocabulary.n_types)
        return torch.cat([logits, summary, execution_features(obs), remaining], dim=1)


class PlannerHeads(nn.Module):
    """SB3 ``mlp_extractor``: the actor's latent is the planner's logits as they are; the critic's a small MLP."""

    def __init__(self, n_models: int, value_inputs: int, hidden: int) -> None:
        super().__init__()
        self.n_models = n_models
        self.latent_dim_pi = n_models
        self.latent_dim_vf = hidden
        self.value_body = nn.Sequential(nn.Linear(value_inputs, hidden), nn.Tanh())

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Actor and critic latents."""
        return self.forward_actor(features), self.forward_critic(features)

    def forward_actor(self, features: torch.Tensor) -> torch.Tensor:
        """The routing logits."""
        return features[:, : self.n_models]

    def forward_critic(self, features: torch.Tensor) -> torch.Tensor:
        """The value head's hidden layer."""
        return self.value_body(features[:, self.n_models :])


class _PlannerPolicyHooks:
    """What PPO's and MaskablePPO's policy classes share: SB3's own build hooks, filled with the planner.

    Listed first among the bases. ``planner_config`` and ``vocabulary`` (plain dicts, as
    stored in planner checkpoints) are policy kwargs, so ``PPO.load`` rebuilds the policy
    without the Phase 1 file; without them the policy holds a fresh planner of the
    bundled world (what ``PPO("PlannerPolicy", env)`` builds after :func:`register_policy_names`).
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        action_space: spaces.Discrete,
        lr_schedule: Any,
        planner_config: dict[str, Any] | None = None,
        vocabulary: dict[str, Any] | None = None,
        hidden: int = 64,
        read_words: bool = True,
        **kwargs: Any,
    ) -> None:
        if planner_config is None or vocabulary is None:  # by name (e.g. rl-zoo3): a fresh planner of the bundled world
            defaults = planner_policy_kwargs_for_world(World.load(), PlannerConfig())
            planner_config = planner_config or defaults["planner_config"]
            vocabulary = vocabulary or defaults["vocabulary"]
        self.hidden = hidden
        kwargs.setdefault("ortho_init", False)  # would overwrite the planner's initialisation
        kwargs["features_extractor_class"] = PlannerFeaturesExtractor
        kwargs["features_extractor_kwargs"] = {
            "planner_config": planner_config,
            "vocabulary": vocabulary,
            "read_words": read_words,
        }
        kwargs["share_features_extractor"] = True
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)  # type: ignore[call-arg]

    def _build_mlp_extractor(self) -> None:
        extractor: PlannerFeaturesExtractor = self.features_extractor  # type: ignore[attr-defined]
        self.mlp_extractor = PlannerHeads(extractor.n_models, extractor.value_inputs, self.hidden)

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)  # type: ignore[misc]
        # the planner already gives the logits: no linear action net on top, and an
        # optimizer over the parameters actually used
        self.action_net = nn.Identity()
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)  # type: ignore[attr-defined]

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data: dict[str, Any] = super()._get_constructor_parameters()  # type: ignore[misc]
        extractor_kwargs = data.pop("features_extractor_kwargs")
        for key in ("features_extractor_class", "share_features_extractor"):
            data.pop(key, None)
        data.update(extractor_kwargs, hidden=self.hidden)
        return data

    @property
    def planner(self) -> PlannerModel:
        """The PlannerModel inside the policy (the graph head included, so the fine-tuned planner can still plan)."""
        extractor: PlannerFeaturesExtractor = self.features_extractor  # type: ignore[attr-defined]
        return extractor.planner


class PlannerPolicy(_PlannerPolicyHooks, ActorCriticPolicy):  # type: ignore[misc]
    """PPO policy (``ActorCriticPolicy``) built around a PlannerModel."""


class MaskablePlannerPolicy(_PlannerPolicyHooks, MaskableActorCriticPolicy):  # type: ignore[misc]
    """The same policy for sb3-contrib's ``MaskablePPO`` (``MaskableActorCriticPolicy``)."""


def planner_policy_kwargs(checkpoint: dict[str, Any], hidden: int = 64) -> dict[str, Any]:
    """Policy kwargs that rebuild the planner stored in a checkpoint dict."""
    return {
        "planner_config": dict(checkpoint["planner_config"]),
        "vocabulary": dict(checkpoint["vocabulary"]),
        "hidden": hidden,
    }


def planner_policy_kwargs_for_world(
    world: World, planner_config: PlannerConfig, hidden: int = 64, read_words: bool = True
) -> dict[str, Any]:
    """Policy kwargs for a fresh (untrained) planner of ``world``: the from-scratch ablation."""
    return {
        "planner_config": dataclasses.asdict(planner_config),
        "vocabulary": dataclasses.asdict(vocabulary_for_world(world)),
        "hidden": hidden,
        "read_words": read_words,
    }


def register_policy_names() -> None:
    """Let SB3 find the policies by name: ``PPO("PlannerPolicy", env)``, ``MaskablePPO("MaskablePlannerPolicy", env)``.

    SB3 resolves a policy name through the algorithm's ``policy_aliases``; rl-zoo3's
    ``policy:`` key is such a name (``--gym-packages orchestai.policies`` runs this).
    """
    from sb3_contrib import MaskablePPO
    from stable_baselines3 import PPO

    PPO.policy_aliases = {**PPO.policy_aliases, "PlannerPolicy": PlannerPolicy}
    MaskablePPO.policy_aliases = {**MaskablePPO.policy_aliases, "MaskablePlannerPolicy": MaskablePlannerPolicy}
