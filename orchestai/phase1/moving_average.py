"""The exponential moving average of the planner's weights that Phase 1 validates (``ema_decay``).

torch's ``get_ema_multi_avg_fn`` decays at a fixed rate from the first batch on, so the
weights of the first batch (which ``AveragedModel`` copies) fade only as ``decay ** t``.
On a small data set that is most of the run: RestBench/TMDB's 80 training records make
3 batches an epoch, and after 60 epochs at ``decay`` 0.995 the first batch's weights
still carry 0.41 of the average. :func:`warmed_up_ema` ramps the decay up as TensorFlow's
``ExponentialMovingAverage(num_updates=...)`` does, ``min(decay, (1 + t) / (10 + t))``,
so the average never reaches further back than the updates made so far, and on a long
run it is torch's fixed-rate average.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

Parameters = tuple[Tensor, ...] | list[Tensor]
MultiAverageFunction = Callable[[Parameters, Parameters, Tensor | int], None]


def warmed_up_decay(decay: float, updates_so_far: int) -> float:
    """The decay of update number ``updates_so_far`` (0 is the first after the copy): at most ``decay``."""
    return min(decay, (1.0 + updates_so_far) / (10.0 + updates_so_far))


def warmed_up_ema(decay: float) -> MultiAverageFunction:
    """An ``AveragedModel`` ``multi_avg_fn``: the moving average of decay ``decay``, warmed up over the first updates.

    ``AveragedModel`` passes how many models it has averaged (1 after its initial copy)
    and keeps that count in its state, so a resumed run goes on with the same decay.
    """
    if not 0.0 <= decay < 1.0:
        raise ValueError(f"decay must be within [0, 1), got {decay}")

    @torch.no_grad()
    def update(averaged: Parameters, current: Parameters, averaged_count: Tensor | int) -> None:
        weight = 1.0 - warmed_up_decay(decay, int(averaged_count) - 1)
        for average, now in zip(averaged, current, strict=True):
            average.lerp_(now, weight)

    return update
