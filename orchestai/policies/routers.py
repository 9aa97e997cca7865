"""Learned routers behind the baselines' ``act(obs, env)`` interface."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from orchestai.planner.model import PlannerModel


def _batch(obs: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {key: torch.as_tensor(value).unsqueeze(0) for key, value in obs.items()}


class Phase1Router:
    """The Phase 1 planner's routing used greedily: its selector plus the routing branches learnt from the logged decisions."""

    def __init__(self, planner: PlannerModel, name: str = "phase1") -> None:
        self.planner = planner.eval()
        self.name = name

    @torch.no_grad()
    def act(self, obs: dict[str, np.ndarray], env: Any) -> int:
        """The planner's best capable model for the current subtask."""
        logits, _ = self.planner.routing_logits(_batch(obs))
        return int(logits.argmax(1))


class Sb3Router:
    """A trained SB3 model (PPO or MaskablePPO), acting deterministically."""

    def __init__(self, model: Any, name: str = "ppo", masked: bool = False) -> None:
        self.model, self.name, self.masked = model, name, masked

    def act(self, obs: dict[str, np.ndarray], env: Any) -> int:
        """The policy's most likely action."""
        kwargs = {"action_masks": obs["action_mask"].astype(bool)} if self.masked else {}
        action, _ = self.model.predict(obs, deterministic=True, **kwargs)
        return int(action)
