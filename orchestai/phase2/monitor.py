"""The DAG-loss monitor: stops PPO before fine-tuning degrades the planner's graph head."""

from __future__ import annotations

import copy
from typing import Any

import torch
from stable_baselines3.common.callbacks import EveryNTimesteps

from orchestai.planner.dag import notears_dag_loss
from orchestai.planner.inference import decode_plans
from orchestai.planner.metrics import Plan, plan_metrics
from orchestai.planner.tensors import PlanTensors


@torch.no_grad()
def graph_health(planner: Any, data: PlanTensors, gold: list[Plan], edge_threshold: float = 0.5) -> dict[str, float]:
    """Mean DAG loss of the graph head's raw edge probabilities, and edge F1 of decoded plans, on ``data``."""
    was_training = planner.training
    planner.eval()
    encoding, type_logits, edge_logits = planner.plan_heads(data.tokens, data.inputs)
    n = type_logits.shape[1]
    present = torch.arange(n).unsqueeze(0) < data.n_subtasks.unsqueeze(1)
    mask = present.unsqueeze(2) & present.unsqueeze(1) & ~torch.eye(n, dtype=torch.bool)
    dag_loss = float(notears_dag_loss(torch.sigmoid(edge_logits) * mask).mean())
    plans = decode_plans(planner, encoding.summary, type_logits, edge_logits, edge_threshold)
    metrics = plan_metrics(plans, gold, planner.vocabulary.type_names)
    planner.train(was_training)
    return {"dag_loss": dag_loss, "edge_f1": metrics["edge_f1"], "type_accuracy": metrics["type_accuracy"]}


class DagLossMonitor(EveryNTimesteps):
    """SB3's ``EveryNTimesteps`` callback that, every ``check_every`` steps, measure the planner's DAG loss and edge F1 on fixed validation logs.

    Both go to the SB3 logger (``planner/dag_loss``, ``planner/edge_f1``). A check
    *violates* the bounds when the DAG loss exceeds ``max_dag_loss`` or edge F1 falls
    more than ``max_edge_f1_drop`` below its value at the start. After ``patience``
    violating checks in a row, training stops (``_on_step`` returns False), the policy
    is restored to the last state that satisfied the bounds, and :attr:`stop_reason`
    says why.
    """

    def __init__(
        self,
        data: PlanTensors,
        gold: list[Plan],
        check_every: int = 2048,
        max_dag_loss: float = 0.05,
        max_edge_f1_drop: float = 0.05,
        patience: int = 2,
        verbose: int = 0,
    ) -> None:
        super().__init__(n_steps=check_every, callback=None)  # type: ignore[arg-type]  # the event is _on_event below
        self.verbose = verbose
        self.data, self.gold = data, gold
        self.check_every, self.max_dag_loss, self.max_edge_f1_drop, self.patience = (
            check_every,
            max_dag_loss,
            max_edge_f1_drop,
            patience,
        )
        self.initial: dict[str, float] | None = None
        self.history: list[dict[str, float]] = []
        self.violations = 0
        self.stop_reason: str | None = None
        self._last_good_state: dict[str, Any] | None = None

    def _check(self) -> bool:
        health = graph_health(self.model.policy.planner, self.data, self.gold)
        if self.initial is None:
            self.initial = health
        health["timesteps"] = self.num_timesteps
        self.history.append(health)
        self.logger.record("planner/dag_loss", health["dag_loss"])
        self.logger.record("planner/edge_f1", health["edge_f1"])
        problems = []
        if health["dag_loss"] > self.max_dag_loss:
            problems.append(f"DAG loss {health['dag_loss']:.4f} > {self.max_dag_loss}")
        if health["edge_f1"] < self.initial["edge_f1"] - self.max_edge_f1_drop:
            problems.append(
                f"edge F1 {health['edge_f1']:.3f} fell more than {self.max_edge_f1_drop} below {self.initial['edge_f1']:.3f}"
            )
        if not problems:
            self.violations = 0
            self._last_good_state = copy.deepcopy(self.model.policy.state_dict())
            self._last_good_timesteps = self.num_timesteps
            return True
        self.violations += 1
        if self.violations < self.patience:
            return True
        self.stop_reason = (
            f"stopped at {self.num_timesteps} steps: {'; '.join(problems)} for {self.violations} checks in a row"
        )
        if self._last_good_state is not None:
            self.model.policy.load_state_dict(self._last_good_state)
            self.stop_reason += f"; kept the model from step {self._last_good_timesteps}"
        if self.verbose:
            print(self.stop_reason)
        return False

    def _on_training_start(self) -> None:
        self._check()

    def _on_event(self) -> bool:
        return self._check()
