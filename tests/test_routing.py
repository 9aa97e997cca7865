"""Routing on recorded outcomes: AIQ, routers, prefix stripping, the prompt split."""

from __future__ import annotations

import numpy as np
import pytest

from orchestai.envs.prompt_features import CommonPrefixStripper
from orchestai.envs.routerbench_data import RouterBenchPrompt, split_prompts
from orchestai.routing.curves import aiq, area_under_hull, cost_to_reach, hull_quality_at, non_decreasing_hull
from orchestai.routing.routers import dataset_best_router, knn_router, oracle_router
from orchestai.routing.table import OutcomeTable


def test_hull_drops_dominated_and_below_segment_points():
    hull = non_decreasing_hull([(4, 1.0), (1, 0.5), (3, 0.92), (2, 0.9), (5, 0.95), (1, 0.4)])
    # (3, 0.92) lies below the segment (2, 0.9)-(4, 1.0); (5, 0.95) is worse than a cheaper point; (1, 0.4) loses the tie
    assert hull.tolist() == [[1, 0.5], [2, 0.9], [4, 1.0]]


def test_hull_of_a_decreasing_curve_is_its_cheapest_point():
    assert non_decreasing_hull([(1, 0.9), (2, 0.5), (3, 0.7)]).tolist() == [[1, 0.9]]


def test_aiq_by_hand():
    # curve a: trapezoids 1..2 and 2..4 = (0.5+0.9)/2 + (0.9+1.0)/2*2 = 2.6 over [0, 4] -> 0.65
    # curve b: one point (2, 0.8), flat to 4: 0.8 * 2 = 1.6 -> 0.4
    # curve c: (0, 0.2) and (1, 0.6): 0.4 + 0.6 * 3 = 2.2 -> 0.55
    values = aiq({"a": [(1, 0.5), (2, 0.9), (4, 1.0), (3, 0.92)], "b": [(2, 0.8)], "c": [(0, 0.2), (1, 0.6)]})
    assert values == pytest.approx({"a": 0.65, "b": 0.4, "c": 0.55})


def test_cost_to_reach_and_quality_at_cost():
    hull = non_decreasing_hull([(1, 0.5), (2, 0.9), (4, 1.0)])
    assert cost_to_reach(hull, 0.7) == pytest.approx(1.5)
    assert cost_to_reach(hull, 0.4) == pytest.approx(1.0)
    assert cost_to_reach(hull, 1.01) == float("inf")
    assert hull_quality_at(hull, 3.0) == pytest.approx(0.95)
    assert hull_quality_at(hull, 10.0) == pytest.approx(1.0)
    assert np.isnan(hull_quality_at(hull, 0.5))
    assert area_under_hull(hull, 2.0) == pytest.approx(0.7)


def _prompt(sample_id: str, dataset: str, scores: list[float], costs: list[float], text: str = "") -> RouterBenchPrompt:
    models = ("cheap", "mid", "strong")
    return RouterBenchPrompt(
        sample_id, dataset, text or sample_id, dict(zip(models, scores, strict=True)), dict(zip(models, costs, strict=True))
    )


TOY_MODELS = ("cheap", "mid", "strong")


def test_oracle_picks_the_cheapest_correct_model_and_trades_off_with_the_cost_weight():
    table = OutcomeTable.of(
        [
            _prompt("p0", "d", [1, 1, 1], [1, 2, 3]),
            _prompt("p1", "d", [0, 1, 1], [1, 2, 3]),
            _prompt("p2", "d", [0, 0, 0], [1, 2, 3]),
        ],
        TOY_MODELS,
    )
    oracle = oracle_router(table)
    assert oracle.choose(0.0).tolist() == [0, 1, 0]  # nobody is right on p2: the cheapest
    assert oracle.choose(0.9).tolist() == [0, 1, 0]  # 1 - 0.9*2 = -0.8 > -0.9
    assert oracle.choose(1.1).tolist() == [0, 0, 0]  # 1 - 1.1*2 = -1.2 < -1.1
    assert table.point(oracle.choose(0.0)) == pytest.approx((4 / 3, 2 / 3))


def test_knn_router_averages_its_neighbours_outcomes():
    train = OutcomeTable.of(
        [
            _prompt("a0", "d", [1, 0, 1], [1, 2, 10]),
            _prompt("a1", "d", [1, 0, 1], [1, 2, 10]),
            _prompt("b0", "d", [0, 1, 1], [1, 2, 10]),
            _prompt("b1", "d", [0, 0, 1], [1, 2, 10]),
        ],
        TOY_MODELS,
    )
    train_features = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    test_features = np.array([[1.0, 0.05], [0.05, 1.0]])
    router = knn_router("knn", train_features, train, test_features, k=2)
    assert router.quality.tolist() == [[1, 0, 1], [0, 0.5, 1]]
    assert router.choose(0.0).tolist() == [0, 2]  # a tie on quality goes to the cheaper model
    assert router.choose(0.1).tolist() == [0, 1]  # 0.5 - 0.2 > 1 - 1.0
    with pytest.raises(ValueError, match="k must be within"):
        knn_router("knn", train_features, train, test_features, k=5)


def test_dataset_best_router_uses_training_means_per_data_set():
    train = OutcomeTable.of(
        [_prompt("x0", "x", [1, 0, 1], [1, 2, 3])] + [_prompt(f"y{k}", "y", [0, k < 2, 1], [1, 2, 3]) for k in range(3)],
        TOY_MODELS,
    )
    router = dataset_best_router(train, ["y", "x"])
    assert router.quality == pytest.approx(np.array([[0, 2 / 3, 1], [1, 0, 1]]))
    assert router.choose(0.0).tolist() == [2, 0]
    assert router.choose(0.5).tolist() == [1, 0]  # y: 2/3 - 1 beats 1 - 1.5 and 0 - 0.5
    assert router.choose(0.7).tolist() == [0, 0]


def test_common_prefix_is_learnt_on_training_prompts_per_data_set():
    shot = "Example: 2+2? Answer: 4. Now answer: "
    stripper = CommonPrefixStripper(min_length=10).fit(
        [shot + "x?", shot + "y?", "def f(a)", "def g(b)"], ["m", "m", "c", "c"]
    )
    assert stripper.prefixes == {"m": shot, "c": ""}  # "def " is shorter than min_length
    assert stripper.transform([shot + "z?", "other", "def h()"], ["m", "m", "c"]) == ["z?", "other", "def h()"]


def test_split_is_seeded_stratified_and_disjoint():
    prompts = [_prompt(f"{d}{k}", d, [1, 0, 0], [1, 1, 1]) for d in "ab" for k in range(10)]
    prompts.append(_prompt("a3", "a", [0, 1, 0], [1, 1, 1]))  # a repeated sample id stays on one side
    train, test = split_prompts(prompts, 0.2, seed=5)
    again = split_prompts(prompts, 0.2, seed=5)
    assert [p.sample_id for p in test] == [p.sample_id for p in again[1]]
    assert {p.sample_id for p in train}.isdisjoint({p.sample_id for p in test})
    assert sorted(p.dataset for p in test if p.sample_id != "a3") == ["a", "a", "b", "b"]
    assert len(train) + len(test) == len(prompts)
    assert [p.sample_id for p in test] != [p.sample_id for p in split_prompts(prompts, 0.2, seed=6)[1]]
