"""PPO with an auxiliary supervised planner loss: fine-tuning that keeps rehearsing Phase 1.

After each PPO update (SB3's ``train()``), :class:`AuxiliaryPlannerLoss` takes
``aux_steps`` gradient steps of ``aux_coef`` x the Phase 1 loss (types, models, edges,
DAG) on random batches of Phase 1 training plans, with the policy's own optimizer. The
Phase 1 data is not saved with the model (``PPO.load`` / ``MaskablePPO.load`` read the
zip as usual). Use it to compare forgetting of the graph head with and without it
(``python -m orchestai.phase2.ppo --aux-coef 0.5``; the DAG-loss monitor reports edge F1).
"""

from __future__ import annotations

from typing import Any

import torch
from sb3_contrib import MaskablePPO
from stable_baselines3 import PPO

from orchestai.phase1.config import Phase1Config
from orchestai.planner.losses import LossWeights, compute_losses
from orchestai.planner.tensors import PlanTensors


class AuxiliaryPlannerLoss:
    """Mixin for SB3's PPO classes: a supervised planner step after every PPO update."""

    policy: Any
    logger: Any
    max_grad_norm: float

    def __init__(
        self, *args: Any, aux_data: PlanTensors, aux_coef: float = 0.5, aux_steps: int = 1, aux_batch_size: int = 32,
        aux_seed: int = 0, aux_loss_weights: LossWeights | None = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        if len(aux_data) == 0:
            raise ValueError("the auxiliary planner loss needs at least one Phase 1 training plan")
        self.aux_data, self.aux_coef, self.aux_steps, self.aux_batch_size = aux_data, aux_coef, aux_steps, aux_batch_size
        self._aux_generator = torch.Generator().manual_seed(aux_seed)
        self._aux_loss_config = aux_loss_weights or Phase1Config()  # the Phase 1 run's loss weights
        super().__init__(*args, **kwargs)

    def train(self) -> None:
        """SB3's PPO update, then ``aux_steps`` supervised planner steps."""
        super().train()  # type: ignore[misc]
        planner, optimizer = self.policy.planner, self.policy.optimizer
        totals = []
        for _ in range(self.aux_steps):
            index = torch.randint(
                len(self.aux_data), (min(self.aux_batch_size, len(self.aux_data)),), generator=self._aux_generator
            )
            batch = self.aux_data.select(index)
            loss = self.aux_coef * compute_losses(planner, batch, self._aux_loss_config)["total"]
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
            optimizer.step()
            totals.append(float(loss.detach()) / max(self.aux_coef, 1e-12))
        self.logger.record("planner/aux_loss", sum(totals) / len(totals))

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "aux_data", "_aux_generator", "_aux_loss_config"]  # type: ignore[misc]


class PlannerPPO(AuxiliaryPlannerLoss, PPO):
    """``PPO`` with the auxiliary supervised planner loss."""


class MaskablePlannerPPO(AuxiliaryPlannerLoss, MaskablePPO):
    """``MaskablePPO`` with the auxiliary supervised planner loss."""
