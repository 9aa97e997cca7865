"""`OutcomeRouterPolicy`: a PPO policy whose logits are an outcome model's expected utility, for one cost-conditioned router.

In ``orchestai/RouterBench-v0`` with ``cost_weight_range`` the observation carries the
episode's cost weight ``λ``; the actor's logits are ``(P(success) - λ·cost) / τ`` of
the :class:`~orchestai.outcomes.model.OutcomeModel` inside the policy, so a policy
built from a Phase 1 outcome model routes greedily exactly as that model does (``τ``,
``utility_temperature``, only sets how sure the policy is, not what it picks), and PPO
fine-tunes the outcome model itself. The critic is a small MLP on the same features
and ``log(1 + λ)``.
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from orchestai.envs.spaces import COST_WEIGHT, CURRENT_SUBTASK, CURRENT_TYPE, INSTRUCTION_EMBEDDING, SUBTASK_FEATURES_KEY
from orchestai.outcomes.features import feature_vector
from orchestai.outcomes.model import OutcomeModel, OutcomeModelSpec
from orchestai.world.workflow import SubtaskFeature

TOKENS_SCALE = 1000.0  # subtask_features hold input tokens / 1000


def observation_inputs(obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """From a RouterBench observation: the outcome features, data-set one-hot, input tokens and cost weight of the current prompt."""
    onehot = obs[CURRENT_TYPE].float()
    current = obs[CURRENT_SUBTASK].float().unsqueeze(-1)
    tokens = (current * obs[SUBTASK_FEATURES_KEY].float()).sum(1)[:, SubtaskFeature.INPUT_TOKENS] * TOKENS_SCALE
    return feature_vector(obs[INSTRUCTION_EMBEDDING], onehot, tokens), onehot, tokens, obs[COST_WEIGHT].float()[:, 0]


class OutcomeFeaturesExtractor(BaseFeaturesExtractor):
    """Observation -> ``[expected utility of every model | value inputs]`` through the outcome model it holds."""

    def __init__(self, observation_space: spaces.Dict, outcome_spec: dict[str, Any]) -> None:
        spec = OutcomeModelSpec.from_mapping(outcome_spec)
        for key in (INSTRUCTION_EMBEDDING, COST_WEIGHT):
            if key not in observation_space.spaces:
                raise ValueError(
                    f"OutcomeRouterPolicy needs an {key!r} observation: orchestai/RouterBench-v0 with prompt_features='minilm' and cost_weight_range"
                )
        self.n_models = len(spec.models)
        self.value_inputs = spec.feature_dim + 1
        super().__init__(observation_space, features_dim=self.n_models + self.value_inputs)
        self.outcome = OutcomeModel(spec)

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        """Expected utilities ``(B, M)`` and value inputs ``(B, V)``, concatenated."""
        features, onehot, tokens, weight = observation_inputs(observations)
        utility = self.outcome.expected_utility(features, onehot, tokens, weight)
        return torch.cat([utility, features, torch.log1p(weight).unsqueeze(1) / 10.0], dim=1)


class OutcomeHeads(nn.Module):
    """SB3 ``mlp_extractor``: the actor's latent is ``utility / τ``; the critic's a small MLP of the value inputs."""

    def __init__(self, n_models: int, value_inputs: int, hidden: int, utility_temperature: float) -> None:
        super().__init__()
        self.n_models, self.utility_temperature = n_models, utility_temperature
        self.latent_dim_pi, self.latent_dim_vf = n_models, hidden
        self.value_body = nn.Sequential(nn.Linear(value_inputs, hidden), nn.Tanh())

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Actor and critic latents."""
        return self.forward_actor(features), self.forward_critic(features)

    def forward_actor(self, features: torch.Tensor) -> torch.Tensor:
        """The routing logits: expected utility over the temperature."""
        return features[:, : self.n_models] / self.utility_temperature

    def forward_critic(self, features: torch.Tensor) -> torch.Tensor:
        """The value head's hidden layer."""
        return self.value_body(features[:, self.n_models :])


class OutcomeRouterPolicy(ActorCriticPolicy):
    """PPO policy around an outcome model (``outcome_spec``: its :class:`OutcomeModelSpec` as a dict)."""

    def __init__(
        self,
        observation_space: spaces.Dict,
        action_space: spaces.Discrete,
        lr_schedule: Any,
        outcome_spec: dict[str, Any] | None = None,
        utility_temperature: float = 0.02,
        hidden: int = 64,
        **kwargs: Any,
    ) -> None:
        if outcome_spec is None:
            raise ValueError("OutcomeRouterPolicy needs outcome_spec (the outcome model's architecture)")
        if not utility_temperature > 0:
            raise ValueError(f"utility_temperature must be > 0, got {utility_temperature}")
        self.outcome_spec, self.utility_temperature, self.hidden = dict(outcome_spec), float(utility_temperature), hidden
        kwargs.setdefault("ortho_init", False)  # would overwrite the outcome model's weights
        kwargs["features_extractor_class"] = OutcomeFeaturesExtractor
        kwargs["features_extractor_kwargs"] = {"outcome_spec": self.outcome_spec}
        kwargs["share_features_extractor"] = True
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _build_mlp_extractor(self) -> None:
        extractor: OutcomeFeaturesExtractor = self.features_extractor  # type: ignore[assignment]
        self.mlp_extractor = OutcomeHeads(extractor.n_models, extractor.value_inputs, self.hidden, self.utility_temperature)  # type: ignore[assignment]

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)
        self.action_net = nn.Identity()  # the utilities are the logits
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)  # type: ignore[call-arg]

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data: dict[str, Any] = super()._get_constructor_parameters()
        for key in ("features_extractor_class", "features_extractor_kwargs", "share_features_extractor"):
            data.pop(key, None)
        data.update(outcome_spec=self.outcome_spec, utility_temperature=self.utility_temperature, hidden=self.hidden)
        return data

    @property
    def outcome_model(self) -> OutcomeModel:
        """The outcome model inside the policy (fine-tuned by PPO)."""
        extractor: OutcomeFeaturesExtractor = self.features_extractor  # type: ignore[assignment]
        return extractor.outcome
