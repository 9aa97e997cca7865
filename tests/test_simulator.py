from __future__ import annotations

import math

import numpy as np
import pytest

from orchestai.world.simulator import DOWN, NORMAL, OVERLOADED, ExecutionSimulator
from orchestai.world.world import World

N_DRAWS = 20_000


def _binomial_tolerance(p: float, n: int, sigmas: float = 4.5) -> float:
    # 4.5 standard errors: a false alarm about once in 150,000 runs
    return sigmas * math.sqrt(p * (1 - p) / n) + 1e-12


@pytest.mark.parametrize(("difficulty", "input_quality"), [(0.0, 1.0), (1.0, 1.0), (-0.5, 0.6)])
def test_success_frequency_matches_configured_probability(world: World, difficulty: float, input_quality: float):
    simulator = ExecutionSimulator(world)
    rng = np.random.default_rng(123)
    t, m = world.type_index["summarization"], world.model_index["gpt-3.5-turbo-1106"]
    p = simulator.success_probability(t, m, difficulty, input_quality)
    skill = world.skill[t, m]
    expected = 1 / (1 + math.exp(-(math.log(skill / (1 - skill)) - difficulty)))
    expected *= 1 - world.config.conditions.input_quality_sensitivity * (1 - input_quality)
    assert p == pytest.approx(expected)
    successes = sum(simulator.execute(rng, t, m, 500, 100, difficulty, input_quality).success for _ in range(N_DRAWS))
    assert abs(successes / N_DRAWS - p) <= _binomial_tolerance(p, N_DRAWS)


def test_cost_is_tokens_times_prices_and_latency_follows_lognormals(world: World):
    simulator = ExecutionSimulator(world)
    rng = np.random.default_rng(5)
    t, m = world.type_index["code_generation"], world.model_index["gpt-4-1106-preview"]
    outcomes = [simulator.execute(rng, t, m, 400, 300) for _ in range(N_DRAWS)]
    expected_cost = 400 * world.price_input[m] + 300 * world.price_output[m]
    assert all(o.cost_usd == pytest.approx(expected_cost) for o in outcomes)
    latencies = np.array([o.latency_s for o in outcomes])
    # the mean of ttft + tokens * per-token time, both log-normal
    expected_mean = world.expected_latency(m, 300)
    assert latencies.mean() == pytest.approx(expected_mean, rel=0.02)
    # the median of a single log-normal part: with zero output tokens latency is the ttft
    ttfts = np.array([simulator.execute(rng, t, m, 400, 0).latency_s for _ in range(N_DRAWS)])
    assert np.median(ttfts) == pytest.approx(world.ttft_median[m], rel=0.03)


def test_conditions_change_outcomes(world: World):
    simulator = ExecutionSimulator(world)
    rng = np.random.default_rng(9)
    t, m = world.type_index["translation"], world.model_index["claude-v1"]
    down = [simulator.execute(rng, t, m, 500, 500, condition=DOWN) for _ in range(200)]
    assert not any(o.success for o in down)
    assert all(o.cost_usd == 0.0 and o.latency_s == world.config.conditions.outage_latency_s for o in down)
    noise = simulator.draw_noise(rng, 1)[0]
    normal = simulator.outcome(t, m, 500, 500, 0.0, 1.0, NORMAL, noise)
    overloaded = simulator.outcome(t, m, 500, 500, 0.0, 1.0, OVERLOADED, noise)
    assert overloaded.latency_s == pytest.approx(normal.latency_s * world.config.conditions.overload_latency_factor)
    assert overloaded.success == normal.success


def test_incapable_model_never_succeeds(world: World):
    simulator = ExecutionSimulator(world)
    t, m = world.type_index["speech_to_text"], world.model_index["gpt-4-1106-preview"]
    assert not world.capable[t, m]
    assert simulator.success_probability(t, m, -10.0) == 0.0


def test_condition_frequencies_match_config(world: World):
    simulator = ExecutionSimulator(world)
    rng = np.random.default_rng(0)
    draws = np.concatenate([simulator.draw_conditions(rng) for _ in range(2000)])
    c = world.config.conditions
    for condition, p in ((OVERLOADED, c.overload_probability), (DOWN, c.outage_probability)):
        assert abs(np.mean(draws == condition) - p) <= _binomial_tolerance(p, len(draws))
