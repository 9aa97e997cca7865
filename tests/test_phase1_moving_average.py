"""The warmed-up moving average of the weights that Phase 1 validates (``ema_decay``)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from orchestai.phase1.moving_average import warmed_up_decay, warmed_up_ema


def _average_of_ramp(multi_avg_fn, steps: int) -> float:
    """The averaged weight of a one-weight model whose weight is 0, 1, ..., steps - 1 at its updates."""
    model = nn.Linear(1, 1, bias=False)
    averaged = AveragedModel(model, multi_avg_fn=multi_avg_fn)
    for value in range(steps):
        with torch.no_grad():
            model.weight.fill_(float(value))
        averaged.update_parameters(model)
    return float(averaged.module.weight.detach())


def test_decay_ramps_up_to_the_configured_one():
    assert warmed_up_decay(0.995, 0) == pytest.approx(0.1)
    assert warmed_up_decay(0.995, 10) == pytest.approx(11 / 20)
    assert warmed_up_decay(0.995, 1_000) < 0.995
    assert warmed_up_decay(0.995, 10_000) == 0.995


def test_average_follows_the_recursion_with_the_warmed_up_decay():
    expected = 0.0  # AveragedModel copies the first model
    for value in range(1, 50):
        decay = warmed_up_decay(0.9, value - 1)
        expected = decay * expected + (1 - decay) * value
    assert _average_of_ramp(warmed_up_ema(0.9), 50) == pytest.approx(expected, rel=1e-5)


def test_a_short_run_is_not_dominated_by_its_first_weights():
    # TMDB's 60 epochs of 3 batches: at a fixed 0.995 the first batch's weights keep 0.41 of the average
    steps = 180
    fixed = _average_of_ramp(get_ema_multi_avg_fn(0.995), steps)
    warmed = _average_of_ramp(warmed_up_ema(0.995), steps)
    assert fixed < 0.4 * steps
    assert warmed > 0.85 * steps
    assert warmed < steps - 1  # still an average, not the last weights


def test_a_long_run_matches_the_fixed_rate_average_in_its_recent_memory():
    # once the warm-up is over both forget at the same rate: the difference left is the early part's
    steps = 5_000
    fixed = _average_of_ramp(get_ema_multi_avg_fn(0.995), steps)
    warmed = _average_of_ramp(warmed_up_ema(0.995), steps)
    assert warmed == pytest.approx(fixed, abs=2.0)


def test_decay_outside_the_unit_interval_is_refused():
    with pytest.raises(ValueError, match="decay"):
        warmed_up_ema(1.0)
