"""A learning curve of the greedy policy on fixed held-out workflows, for comparing runs.

The training return SB3 logs (``rollout/ep_rew_mean``) is that of the *sampling*
policy on training workflows, over whatever episodes ended lately: it mixes
exploration with skill and is noisy. :class:`SeededEvalCallback` is SB3's
``EvalCallback`` evaluating the greedy policy on the *same* seeded held-out episodes
at every check, so two runs' curves (e.g. from ``--init`` and from scratch) differ by
what the policies do, not by which workflows they met.
"""

from __future__ import annotations

from typing import Any

from stable_baselines3.common.callbacks import EvalCallback


class SeededEvalCallback(EvalCallback):
    """``EvalCallback`` whose evaluation env is reseeded with ``eval_seed`` before each evaluation.

    It also evaluates once before training (step 0), so the curve starts where the run
    started (for a run from ``--init``: the Phase 1 planner).
    """

    def __init__(self, eval_env: Any, eval_seed: int, **kwargs: Any) -> None:
        super().__init__(eval_env, **kwargs)
        self.eval_seed = eval_seed

    def _on_training_start(self) -> None:
        super()._on_training_start()
        if self.eval_freq > 0 and self.n_calls == 0:
            self._on_step()  # n_calls is 0: evaluates, logs and dumps at the current step

    def _on_step(self) -> bool:
        if self.eval_freq > 0 and self.n_calls % self.eval_freq == 0:
            self.eval_env.seed(self.eval_seed)  # applied at the evaluation's first reset
        return super()._on_step()
