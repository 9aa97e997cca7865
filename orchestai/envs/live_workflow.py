"""`LiveWorkflowEnv`: the state of a workflow whose calls are made by someone else (an executor), in `WorkflowEnv`'s terms.

An executor runs ready subtasks concurrently against real endpoints; for every
decision it asks this env for the observation ``orchestai/Workflow-v0`` would show
(:meth:`observe`), so a policy trained in the simulator routes unchanged, and it books
every finished call (:meth:`record`): the same clock, health, state, children and
execution log as :meth:`WorkflowEnv.step`, with measured outcomes instead of sampled
ones. Nothing here is random: conditions, difficulties and noise are never used.
"""

from __future__ import annotations

import heapq
from typing import Any

import numpy as np

from orchestai.envs.workflow_env import WorkflowEnv
from orchestai.world.simulator import NORMAL
from orchestai.world.workflow import WorkflowSpec
from orchestai.world.world import World


class LiveWorkflowEnv(WorkflowEnv):
    """One workflow executed outside the simulator: observations on demand, outcomes booked as they arrive."""

    def __init__(self, world: World, workflow: WorkflowSpec, log_source: str = "recorded", **env_kwargs: Any) -> None:
        super().__init__(world, task_source=[workflow], **env_kwargs)
        self._log_source = log_source
        self.reset(seed=0, options={"workflow": workflow})
        self._dispatched: set[int] = set()
        self.ended = False  # no new calls: every subtask done, one out of attempts, or the budget spent

    def take_ready(self) -> list[int]:
        """Subtasks ready to run that have not been handed out yet, in index order (each is handed out once)."""
        ready = [] if self._current in self._dispatched or self._done[self._current] else [self._current]
        while self._ready:
            ready.append(heapq.heappop(self._ready))
        fresh = sorted(i for i in set(ready) if i not in self._dispatched)
        self._dispatched.update(fresh)
        return fresh

    def open_subtasks(self) -> list[int]:
        """Subtasks that may start a call now: newly ready ones, and handed-out ones not done with attempts left."""
        self.take_ready()
        limit = self.max_retries + 1
        return [i for i in sorted(self._dispatched) if not self._done[i] and self._attempts[i] < limit]

    def observe(self, subtask: int) -> dict[str, np.ndarray]:
        """The observation of the decision for ``subtask``'s next attempt (it becomes the current subtask)."""
        self._current = subtask
        return self._observation()

    def attempts(self, subtask: int) -> int:
        """Attempts booked so far for ``subtask``."""
        return self._attempts[subtask]

    def capable(self, subtask: int, model: int) -> bool:
        """Whether ``model`` can do ``subtask``'s type at all."""
        return bool(self._capable[self._types[subtask]][model])

    def record(
        self, subtask: int, model: int, success: bool, cost_usd: float, latency_s: float, start_s: float, error: bool
    ) -> bool:
        """Book one finished call; returns whether the workflow has ended (no further calls should start)."""
        attempt = self._attempts[subtask] + 1
        self._attempts[subtask] = attempt
        if not self._capable[self._types[subtask]][model]:
            self.invalid_calls += 1
        expected = self.simulator.expected_latency_s(model, self._out_tokens[subtask], NORMAL)
        _, ended = self._record(subtask, model, attempt, success, cost_usd, latency_s, expected, error, start_s)
        self.ended = self.ended or ended
        self._finished = self.ended
        return self.ended

    def stop(self) -> None:
        """End the workflow early (a budget or a deadline): no further calls."""
        self.ended = self._finished = True
