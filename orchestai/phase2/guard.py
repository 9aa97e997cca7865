"""`TrainingGuard`: an SB3 callback that ends ``learn()`` cleanly on SIGINT or SIGTERM and keeps the last finite policy.

Phase 2 saves its model only after ``learn()`` returns, so an interruption or a
divergence must not escape as an exception: on a signal the guard makes ``_on_step``
return False (SB3 then stops after the current step), and after every rollout it keeps
a copy of the policy's weights while they are finite, so a run whose weights turn NaN
can still save the last good model.
"""

from __future__ import annotations

import copy
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import torch
from stable_baselines3.common.callbacks import BaseCallback


class TrainingGuard(BaseCallback):
    """Stop on SIGINT / SIGTERM (within :meth:`catching_signals`); remember the last policy with finite weights."""

    def __init__(self) -> None:
        super().__init__()
        self.signal_name: str | None = None
        self.last_finite_state: dict[str, Any] | None = None
        self.last_finite_timesteps = 0

    @contextmanager
    def catching_signals(self) -> Iterator[None]:
        """Within the block, SIGINT and SIGTERM ask training to stop instead of raising.

        Off the main thread (e.g. a Ray Tune trial) signals cannot be caught: they are left alone.
        """

        def stop(signum: int, frame: FrameType | None) -> None:
            self.signal_name = signal.Signals(signum).name

        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def weights_finite(self) -> bool:
        """Whether every parameter of the policy is finite."""
        return all(bool(torch.isfinite(p).all()) for p in self.model.policy.parameters())

    def restore_last_finite(self) -> int:
        """Load the last finite weights back into the policy; returns the step they are from."""
        if self.last_finite_state is not None:
            self.model.policy.load_state_dict(self.last_finite_state)
        return self.last_finite_timesteps

    def _snapshot(self) -> None:
        if self.weights_finite():
            self.last_finite_state = copy.deepcopy(self.model.policy.state_dict())
            self.last_finite_timesteps = self.num_timesteps

    def _on_training_start(self) -> None:
        self._snapshot()

    def _on_rollout_end(self) -> None:
        self._snapshot()

    def _on_step(self) -> bool:
        return self.signal_name is None


def learn_guarded(
    model: Any, timesteps: int, callbacks: list[Any], guard: TrainingGuard, progress_bar: bool = False
) -> int | None:
    """``model.learn`` with ``guard`` among the callbacks and catching signals; returns the step it diverged by, if it did.

    A divergence (weights that turned NaN or infinite; torch's distributions then refuse
    the logits) ends training with the last finite weights restored.
    """
    if guard not in callbacks:
        callbacks = [*callbacks, guard]
    with guard.catching_signals():
        try:
            model.learn(timesteps, callback=callbacks, progress_bar=progress_bar)
        except ValueError:
            if guard.weights_finite():
                raise  # not a divergence: a real error
    if guard.weights_finite():
        return None
    diverged_at = int(model.num_timesteps)
    guard.restore_last_finite()
    return diverged_at
