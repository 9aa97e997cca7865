from __future__ import annotations

import math

import numpy as np
import pytest

from orchestai.agents.baselines import (
    BASELINES,
    BestExpectedUtilityPolicy,
    CheapestPolicy,
    ErrorAwareExpectedUtilityPolicy,
    OraclePolicy,
    RandomPolicy,
    StrongestPolicy,
)
from orchestai.agents.rollouts import PolicyResult, evaluate_policy, summary_rows
from orchestai.evaluate.report import pareto_front


def _result(name: str, returns, successes, costs) -> PolicyResult:
    n = len(returns)
    return PolicyResult(name, np.array(returns, float), np.array(successes, float), np.array(costs, float), np.ones(n))


def test_summary_rows_confidence_intervals_and_oracle_fraction():
    rows = summary_rows([_result("oracle", [1.0, 0.5], [1, 1], [0.1, 0.1]), _result("x", [0.5, 0.0], [1, 0], [0.2, 0.0])])
    x = rows[1]
    assert x["return"] == pytest.approx(0.25)
    assert x["return_ci95"] == pytest.approx(1.96 * np.std([0.5, 0.0], ddof=1) / math.sqrt(2))
    assert x["fraction_of_oracle_return"] == pytest.approx(0.25 / 0.75)


def test_pareto_front_keeps_only_undominated_policies():
    rows = [
        {"policy": "cheap", "cost_usd": 0.01, "success": 0.2},
        {"policy": "good", "cost_usd": 0.03, "success": 0.8},
        {"policy": "dominated", "cost_usd": 0.05, "success": 0.7},
        {"policy": "best", "cost_usd": 0.05, "success": 0.9},
    ]
    assert pareto_front(rows) == ["cheap", "good", "best"]


def test_baselines_order_as_their_definitions_imply():
    results = {p.name: evaluate_policy(p, 80, seed=321) for p in
               (RandomPolicy(0), CheapestPolicy(), StrongestPolicy(), BestExpectedUtilityPolicy(), OraclePolicy())}  # fmt: skip
    assert results["cheapest"].costs.mean() < results["random"].costs.mean() < results["strongest"].costs.mean()
    assert results["strongest"].successes.mean() > results["cheapest"].successes.mean()
    # full information beats the same rule on published numbers, which beats random routing
    assert (
        results["oracle"].returns.mean() > results["best_expected_utility"].returns.mean() > results["random"].returns.mean()
    )


def test_error_aware_rule_stops_calling_a_model_that_errored():
    import gymnasium as gym

    from orchestai.envs import WORKFLOW_ENV_ID
    from orchestai.world.simulator import DOWN

    env = gym.make(WORKFLOW_ENV_ID)
    obs, _ = env.reset(seed=7)
    greedy, aware = BestExpectedUtilityPolicy(), ErrorAwareExpectedUtilityPolicy()
    favourite = greedy.act(obs, env)
    assert aware.act(obs, env) == favourite  # no feedback yet: the same choice
    env.unwrapped._conditions[favourite] = DOWN
    obs, *_ = env.step(favourite)  # times out with an error; the same subtask is decided again
    assert greedy.act(obs, env) == favourite  # the plain rule calls it again
    switched = aware.act(obs, env)
    assert switched != favourite and obs["action_mask"][switched] == 1


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_no_baseline_ever_calls_a_model_that_cannot_do_the_subtask(name: str):
    import gymnasium as gym

    from orchestai.envs import WORKFLOW_ENV_ID
    from orchestai.world.simulator import DOWN

    env = gym.make(WORKFLOW_ENV_ID, workflow_split="test")
    policy = BASELINES[name]()
    for seed in range(40):
        obs, _ = env.reset(seed=seed)
        if seed % 4 == 0:  # every model down: the oracle sees every capable model as hopeless
            env.unwrapped._conditions[:] = [DOWN] * len(env.unwrapped._conditions)
        while True:
            action = policy.act(obs, env)
            assert obs["action_mask"][action] == 1, (name, seed)
            obs, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
        assert info["invalid_calls"] == 0


def test_evaluation_uses_the_reward_weights_the_ppo_models_were_trained_with(world, tmp_path):
    from stable_baselines3.common.env_util import make_vec_env

    from orchestai.configuration import ConfigError, from_mapping
    from orchestai.envs import WORKFLOW_ENV_ID
    from orchestai.evaluate.synthetic import EvaluationRequest, run_evaluation, trained_reward_kwargs
    from orchestai.phase2.build import build_model
    from orchestai.phase2.config import Phase2Config
    from orchestai.phase2.saved import save_run

    zips = []
    for name, bonus in (("bonus4", 4.0), ("bonus4b", 4.0), ("default", None)):
        config = from_mapping(Phase2Config, {"n_envs": 1, "n_steps": 64, "batch_size": 64, "success_bonus": bonus}, "test")
        (tmp_path / name).mkdir()
        save_run(build_model(config, make_vec_env(WORKFLOW_ENV_ID, n_envs=1, seed=0), world), config, tmp_path / name)
        zips.append(tmp_path / name / "ppo_model.zip")
    assert trained_reward_kwargs(zips[:2]) == {"success_bonus": 4.0}
    with pytest.raises(ConfigError, match="trained under different reward weights"):
        trained_reward_kwargs(zips)
    lines: list[str] = []
    request = EvaluationRequest(episodes=12, ppo=zips[:1], out_dir=tmp_path / "eval", baselines=["random"])
    rows = run_evaluation(request, log=lines.append)
    assert any("{'success_bonus': 4.0}" in line for line in lines)
    random = next(r for r in rows if r["policy"] == "random")
    # the same episodes and actions (random routing does not read the weights) under the default bonus 1.0
    request = EvaluationRequest(episodes=12, out_dir=tmp_path / "eval1", baselines=["random"])
    default = run_evaluation(request, log=lambda *_: None)[0]
    assert default["success"] == random["success"] and float(random["success"]) > 0
    assert float(random["return"]) - float(default["return"]) == pytest.approx(3.0 * float(random["success"]))
    # models trained under different weights are scored together once the weights are given
    request = EvaluationRequest(episodes=12, ppo=zips, out_dir=tmp_path / "eval2", baselines=["random"], env_kwargs={})
    mixed = run_evaluation(request, log=lambda *_: None)
    assert next(r for r in mixed if r["policy"] == "random") == default
