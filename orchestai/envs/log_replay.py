"""`LogReplayEnv`: re-run a logged workflow's decisions to see what the router saw at each one.

An execution log records every call (subtask, model, attempt, outcome); it does not
store the observations behind them. Replaying the calls in a :class:`WorkflowEnv` whose
calls return the *recorded* outcomes instead of simulated ones rebuilds those
observations exactly (model health, attempts, cost and time so far, the published
estimates), so Phase 1 can learn the whole routing decision from logs, not only the
first choice per subtask. Nothing about the hidden per-episode state is needed: the
recorded outcomes already carry it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from orchestai.envs.workflow_env import WorkflowEnv
from orchestai.logs.schema import AttemptRecord, ExecutionLog, LogValidationError
from orchestai.world.simulator import NORMAL


@dataclass
class ReplayedDecisions:
    """The decisions of a set of logs: stacked observations, the logged actions, and each decision's log."""

    observations: dict[str, np.ndarray]
    actions: np.ndarray  # (D,) model index chosen
    log_index: np.ndarray  # (D,) position of the decision's log in the replayed sequence

    def __len__(self) -> int:
        return len(self.actions)


class LogReplayEnv(WorkflowEnv):
    """A :class:`WorkflowEnv` whose calls return the outcomes recorded in an execution log.

    ``replay(log)`` runs the log's calls in order and returns the observation before
    each one; a log that the env cannot have produced (a call on a subtask that is not
    the env's next decision, an attempt out of order, calls after the end) raises
    :class:`LogValidationError` naming the record and the execution field.
    """

    def replay(self, log: ExecutionLog, path: str = "<memory>", index: int = 0) -> list[tuple[dict[str, np.ndarray], int]]:
        """``(observation, model index)`` for every call of ``log``, in order."""
        order = log.topological_positions()
        position = {log.subtasks[old].id: new for new, old in enumerate(order)}
        self._recorded: dict[tuple[int, int], AttemptRecord] = {}
        obs, _ = self.reset(seed=0, options={"workflow": log.to_workflow(self.world)})
        decisions = []
        finished = False
        for k, call in enumerate(log.execution):
            field = f"execution[{k}]"
            if finished:
                raise LogValidationError(path, "a call after the workflow had ended", index, log.id, field)
            subtask = position[call.subtask]
            if subtask != self.current_subtask:
                expected = log.subtasks[order[self.current_subtask]].id
                raise LogValidationError(
                    path,
                    f"calls {call.subtask!r}, but the next subtask to route is {expected!r}",
                    index,
                    log.id,
                    f"{field}.subtask",
                )
            if call.attempt != self.current_context()["attempt"]:
                raise LogValidationError(
                    path,
                    f"is attempt {call.attempt}, expected {self.current_context()['attempt']}",
                    index,
                    log.id,
                    f"{field}.attempt",
                )
            model = self.world.model_index[call.model]
            self._recorded[(subtask, call.attempt)] = call
            decisions.append((obs, model))
            obs, _reward, terminated, truncated, _info = self.step(model)
            finished = terminated or truncated
        return decisions

    def _call(self, i: int, model: int, attempt: int) -> tuple[bool, float, float, float, bool]:
        call = self._recorded[(i, attempt)]
        expected = self.simulator.expected_latency_s(model, self._out_tokens[i], NORMAL)
        return call.success, call.cost_usd, call.latency_s, expected, call.error


def replay_decisions(
    logs: Sequence[ExecutionLog], world: Any, keys: Sequence[str] | None = None, path: str = "<memory>"
) -> ReplayedDecisions:
    """Replay every log in ``world`` and stack its decisions (only observation ``keys``, if given)."""
    env = LogReplayEnv(world=world)
    keys = list(keys) if keys is not None else list(env.observation_space.spaces)
    columns: dict[str, list[np.ndarray]] = {key: [] for key in keys}
    actions, owners = [], []
    for k, log in enumerate(logs):
        for obs, model in env.replay(log, path, k):
            for key in keys:
                columns[key].append(obs[key])
            actions.append(model)
            owners.append(k)
    observations = {
        key: np.stack(values)
        if values
        else np.zeros((0, *(env.observation_space[key].shape or ())), env.observation_space[key].dtype)
        for key, values in columns.items()
    }
    return ReplayedDecisions(observations, np.asarray(actions, dtype=np.int64), np.asarray(owners, dtype=np.int64))
