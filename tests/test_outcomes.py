"""The outcome model (Phase 1 on recorded outcomes), its calibration, the routers built on it and the cost-conditioned PPO router."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from orchestai.envs.routerbench_data import RouterBenchData, load_routerbench_folder, split_prompts
from orchestai.envs.routerbench_env import RouterBenchEnv
from orchestai.outcomes.calibration import brier_score, expected_calibration_error, fit_temperature, reliability_bins
from orchestai.outcomes.model import OutcomeCheckpointError, read_outcome_model
from orchestai.routing.routers import EstimateRouter
from orchestai.routing.table import OutcomeTable
from orchestai.routing.threshold import call_share, cost_fraction, smallest_cost_weight

from .conftest import ROUTERBENCH_TOY_MODELS as MODELS
from .conftest import routerbench_toy_data

needs_embeddings = pytest.mark.skipif(
    not __import__("orchestai.envs.embeddings", fromlist=["x"]).embeddings_available(),
    reason="needs the embeddings extra (pip install -e '.[embeddings]')",
)


# ---------------------------------------------------------------- calibration math
def test_ece_and_reliability_bins_by_hand():
    p = np.array([0.05, 0.15, 0.15, 0.95, 1.0])
    y = np.array([0, 1, 0, 1, 1])
    bins = reliability_bins(p, y, 10)
    assert [(b.low, b.count) for b in bins] == [(0.0, 1), (0.1, 2), (0.9, 2)]  # 1.0 lands in the last bin
    assert bins[1].mean_prediction == pytest.approx(0.15) and bins[1].outcome_rate == 0.5
    # (1 * 0.05 + 2 * 0.35 + 2 * |0.975 - 1|) / 5
    assert expected_calibration_error(p, y, 10) == pytest.approx((0.05 + 0.7 + 0.05) / 5)
    assert brier_score(p, y) == pytest.approx((0.05**2 + 0.85**2 + 0.15**2 + 0.05**2 + 0.0) / 5)
    assert expected_calibration_error(np.array([0.3, 0.3, 0.7, 0.7]), np.array([0, 1, 1, 1]), 2) == pytest.approx(
        (2 * 0.2 + 2 * 0.3) / 4
    )


def test_temperature_is_the_maximum_likelihood_one():
    # logits +-2; 3 of 4 outcomes agree with the sign: the MLE has sigmoid(2 / T) = 3/4
    logits = np.array([2.0] * 4 + [-2.0] * 4)
    outcomes = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    assert fit_temperature(logits, outcomes) == pytest.approx(2.0 / math.log(3.0), rel=1e-6)
    # perfectly separated outcomes want the sharpest temperature allowed
    assert fit_temperature(np.array([1.0, -1.0]), np.array([1, 0])) == pytest.approx(1 / 20.0, rel=1e-3)


@pytest.mark.parametrize(
    "p, y", [(np.array([0.5, 0.2]), np.array([1])), (np.array([]), np.array([])), (np.array([1.2]), np.array([1]))]
)
def test_calibration_rejects_bad_input(p, y):
    with pytest.raises(ValueError):
        expected_calibration_error(p, y)


# ---------------------------------------------------------------- threshold calibration
def _toy_table() -> tuple[OutcomeTable, EstimateRouter]:
    rng = np.random.default_rng(0)
    n = 200
    costs = np.tile([0.001, 0.01, 0.1], (n, 1)) * (1 + rng.random((n, 1)))
    quality = np.clip(np.stack([rng.random(n) * 0.6, 0.3 + rng.random(n) * 0.5, np.full(n, 0.9)], axis=1), 0, 1)
    scores = (rng.random((n, 3)) < quality).astype(float)
    table = OutcomeTable(("cheap", "mid", "strong"), ("toy",) * n, scores, costs)
    return table, EstimateRouter("toy", quality, costs)


@pytest.mark.parametrize("target", [0.05, 0.2, 0.5])
def test_cost_weight_calibration_hits_its_cost_target(target: float):
    table, router = _toy_table()
    measure = cost_fraction(table, reference=2)
    weight = smallest_cost_weight(router, measure, target)
    assert measure(router.choose(weight)) <= target + 1e-12
    assert measure(router.choose(weight * 0.999)) > target  # the smallest such weight: less would overshoot
    assert measure(router.choose(0.0)) > target


def test_cost_weight_calibration_hits_a_strong_model_share():
    table, router = _toy_table()
    weight = smallest_cost_weight(router, call_share(2), 0.25)
    assert call_share(2)(router.choose(weight)) <= 0.25 < call_share(2)(router.choose(weight * 0.999))
    assert smallest_cost_weight(router, call_share(2), 1.0) == 0.0
    with pytest.raises(ValueError, match="no cost weight"):
        smallest_cost_weight(router, cost_fraction(table, 2), 0.0)


# ---------------------------------------------------------------- the replay env without answer leaks
def test_estimates_do_not_depend_on_the_answers_to_the_prompt():
    data = routerbench_toy_data()
    _, test = split_prompts(data.prompts, 0.2, 0)
    held_out = data.prompts.index(test[0])  # training prompts' answers may set the data set's mean answer length
    changed = list(data.prompts)
    first = changed[held_out]
    changed[held_out] = type(first)(
        first.sample_id, first.dataset, first.prompt, first.scores, first.costs, {m: 10_000 for m in MODELS}
    )
    observations = []
    for prompts in (data.prompts, changed):
        env = RouterBenchEnv(data=RouterBenchData(list(prompts), list(MODELS)), split="test")
        observations.append(env.reset(seed=0, options={"workflow_index": 0})[0])
    assert all(np.array_equal(observations[0][k], observations[1][k]) for k in observations[0])


def test_cost_weight_range_draws_a_weight_per_episode_and_rewards_with_it():
    data = routerbench_toy_data()
    env = RouterBenchEnv(data=data, split="all", cost_weight_range=(1.0, 1000.0))
    weights = [float(env.reset(seed=s)[0]["cost_weight"][0]) for s in range(40)]
    assert all(1.0 <= w <= 1000.0 for w in weights)
    assert min(weights) < 10 and max(weights) > 100  # log-uniform: every decade is visited
    again = RouterBenchEnv(data=data, split="all", cost_weight_range=(1.0, 1000.0))
    assert [float(again.reset(seed=s)[0]["cost_weight"][0]) for s in range(40)] == weights
    obs, _ = env.reset(seed=0, options={"workflow_index": 3, "cost_weight": 250.0})
    assert obs["cost_weight"][0] == 250.0 and obs in env.observation_space
    _, reward, *_ = env.step(2)
    prompt = env.prompts[3]
    assert reward == pytest.approx(prompt.scores[MODELS[2]] - 250.0 * prompt.costs[MODELS[2]])
    with pytest.raises(ValueError, match="cost_weight_range"):
        RouterBenchEnv(data=data, cost_weight_range=(0.0, 10.0))


# ---------------------------------------------------------------- outcome model, routers, PPO from it
def write_toy_csv(folder: Path, n: int = 90, rows: slice = slice(None)) -> Path:
    """The toy table (or some of its rows) as a RouterBench CSV folder (what the CLIs read)."""
    data = routerbench_toy_data(n)
    data.prompts = data.prompts[rows]
    folder.mkdir(parents=True, exist_ok=True)
    header = ["", "sample_id", "prompt", "eval_name"]
    for m in MODELS:
        header += [m, f"{m}|model_response", f"{m}|total_cost"]
    header.append("oracle_model_to_route_to")
    with (folder / "toy.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for k, p in enumerate(data.prompts):
            row: list[object] = [k, p.sample_id, p.prompt, p.dataset]
            for m in MODELS:
                row += [p.scores[m], "x" * p.response_chars[m], p.costs[m]]
            writer.writerow([*row, MODELS[-1]])
    return folder


@pytest.fixture(scope="module")
def toy_outcome_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    if not __import__("orchestai.envs.embeddings", fromlist=["x"]).embeddings_available():
        pytest.skip("needs the embeddings extra")
    from orchestai.phase1.outcomes import main

    root = tmp_path_factory.mktemp("outcomes")
    folder = write_toy_csv(root / "data")
    out = root / "model"
    flags = [
        "--data-dir",
        str(folder),
        "--epochs",
        "5",
        "--folds",
        "2",
        "--cache-dir",
        str(root / "cache"),
        "--out-dir",
        str(out),
    ]
    assert main(flags) == 0
    return folder, out, root / "cache"


@needs_embeddings
def test_outcome_model_is_saved_with_its_calibration_and_reliability_diagram(toy_outcome_model):
    folder, out, _ = toy_outcome_model
    model, featurizer, metadata = read_outcome_model(out / "outcome_model.pt")
    assert model.spec.models == tuple(MODELS) and featurizer.datasets == ["code", "quiz"]
    assert metadata["split"]["test_fraction"] == 0.2 and metadata["source"] == "phase1"
    report = json.loads((out / "calibration.json").read_text())
    assert set(report["calibrated"]["per_model"]) == set(MODELS)
    assert 0.0 <= report["calibrated"]["pooled"]["ece"] <= 1.0
    assert (out / "reliability.png").stat().st_size > 10_000
    assert all(t > 0 for t in model.temperature.tolist())
    # the prefix of the quiz prompts is learnt, and a free-text prompt that carries it is read as a quiz one
    assert featurizer.prefixes["quiz"].startswith("Question: is the sky blue?")


@needs_embeddings
def test_router_api_and_cli_agree(toy_outcome_model):
    from orchestai.routing.router import Router

    folder, out, cache = toy_outcome_model
    router = Router.load(out / "outcome_model.pt", cache)
    prompts = ["item 7 about cats", "Question: is the sky blue? Answer: yes. Now the real question. item 8 about dogs"]
    decisions = router.route(prompts, cost_weight=100.0, datasets=["code", "quiz"])
    for decision in decisions:
        utility = {m: decision.success[m] - 100.0 * decision.cost[m] for m in MODELS}
        assert decision.model == max(utility, key=utility.__getitem__)
    assert [d.model for d in router.route(prompts, cost_weight=1e7, datasets=["code", "quiz"])] == [MODELS[0]] * 2
    command = [
        sys.executable,
        "-m",
        "orchestai.route",
        prompts[1],
        "--router",
        str(out / "outcome_model.pt"),
        "--cost-weight",
        "100",
        "--json",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed[0]["dataset"] == "quiz"  # read from the prefix, no --dataset given
    assert printed[0]["model"] == decisions[1].model
    assert printed[0]["success"] == pytest.approx(decisions[1].success, abs=1e-6)


@needs_embeddings
def test_calibrate_cli_meets_its_target_on_the_training_prompts(toy_outcome_model):
    folder, out, _ = toy_outcome_model
    command = [
        sys.executable, "-m", "orchestai.routing.calibrate", "--router", str(out / "outcome_model.pt"),
        "--target-cost-fraction", "0.3", "--json",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    calibration = json.loads(result.stdout)
    assert calibration["train"]["cost_fraction"] <= 0.3 + 1e-9
    assert calibration["cost_weight"] > 0 and 0 <= calibration["test"]["cost_fraction"] <= 1.0


def test_a_file_that_is_not_an_outcome_model_is_one_clear_error(tmp_path: Path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(OutcomeCheckpointError, match=r"bad.pt: not a readable outcome model"):
        read_outcome_model(bad)
    torch.save({"format": "something else"}, bad)
    with pytest.raises(OutcomeCheckpointError, match="not an OrchestAI outcome model"):
        read_outcome_model(bad)


@needs_embeddings
def test_ppo_policy_logits_at_init_are_the_outcome_models_expected_utility(toy_outcome_model):
    from orchestai.routing.conditioned_ppo import build_conditioned_ppo
    from orchestai.routing.config import RoutingConfig
    from orchestai.routing.router import Router

    folder, out, cache = toy_outcome_model
    config = RoutingConfig(data_dir=str(folder), cache_dir=str(cache), ppo_n_envs=1, ppo_n_steps=64, ppo_batch_size=64)
    data = load_routerbench_folder(folder)
    ppo, _, _ = build_conditioned_ppo(config, data, out / "outcome_model.pt")
    router = Router.load(out / "outcome_model.pt", cache)
    env = RouterBenchEnv(data=data, split="test", prompt_features="minilm", cache_dir=cache, cost_weight_range=(1.0, 1e5))
    policy = ppo.policy
    for index in range(env.n_workflows):
        for weight in (0.0, 30.0, 3000.0):
            obs, _ = env.reset(seed=index, options={"workflow_index": index, "cost_weight": weight})
            tensors, _ = policy.obs_to_tensor(obs)
            with torch.no_grad():
                logits = policy.mlp_extractor.forward_actor(policy.extract_features(tensors))[0].numpy()
            success, cost, _ = router.estimates([env.prompts[index].prompt], [env.prompts[index].dataset])
            utility = success[0] - weight * cost[0]
            np.testing.assert_allclose(logits * config.conditioned_utility_temperature, utility, atol=1e-5)
            action, _ = ppo.predict(obs, deterministic=True)
            assert int(action) == int(EstimateRouter("r", success, cost).choose(weight)[0])


@needs_embeddings
@pytest.mark.slow
def test_routing_report_with_the_new_routers_end_to_end(toy_outcome_model, tmp_path: Path):
    folder, _, cache = toy_outcome_model
    command = [
        sys.executable, "-m", "orchestai.evaluate", "--env", "orchestai/RouterBench-v0", "--data-dir", str(folder),
        "--ppo-timesteps", "128", "--ppo-n-steps", "64", "--ppo-batch-size", "64", "--ppo-n-envs", "1", "--ppo-cost-weights", "0", "100",
        "--knn-k", "5", "--conditioned-ppo-timesteps", "256", "--cache-dir", str(cache), "--out-dir", str(tmp_path),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    rows = {row["router"]: row for row in csv.DictReader((tmp_path / "routing.csv").open())}
    assert {"outcome model (expected utility)", "PPO, cost-conditioned (one run, from the outcome model)",
            "oracle (best model per prompt, cheapest among ties)", "kNN embeddings (k=5)"} <= set(rows)  # fmt: skip
    ceiling = float(rows["oracle, swept over the cost weight"]["aiq_pooled"])
    assert all(0.0 <= float(r["aiq_pooled"]) <= ceiling + 1e-9 for r in rows.values())
    routers = tmp_path / "routers"
    assert (routers / "outcome" / "outcome_model.pt").is_file() and (routers / "outcome" / "reliability.png").is_file()
    tuned, _, metadata = read_outcome_model(routers / "ppo_cost_conditioned.pt")
    assert metadata["source"] == "ppo" and metadata["timesteps"] == 256
    assert (routers / "ppo_cost_conditioned.zip").is_file() and len(list(routers.glob("ppo_cost_weight_*.zip"))) == 2
    curves = json.loads((tmp_path / "routing_curves.json").read_text())
    assert set(curves["training_seconds"]) == {"ppo_per_cost_weight_seconds", "conditioned_ppo_seconds"}


# ---------------------------------------------------------------- fidelity of the synthetic world
def test_world_success_probability_matches_the_simulators_draws():
    from orchestai.evaluate.fidelity import category_types, world_success_probability
    from orchestai.world.simulator import DOWN, ExecutionSimulator
    from orchestai.world.world import World

    world = World.load()
    simulator = ExecutionSimulator(world)
    rng = np.random.default_rng(0)
    model = world.model_index["claude-instant-v1"]
    types = category_types(world, "reasoning")
    assert types and all(world.config.task_types[t].category == "reasoning" for t in types)
    draws = []
    for t in types:
        difficulties = simulator.draw_difficulties(rng, np.full(20_000, t))
        for d in difficulties:
            condition = simulator.draw_conditions(rng)[model]
            draws.append(0.0 if condition == DOWN else simulator.success_probability(t, model, float(d)))
    assert world_success_probability(world, "reasoning", model) == pytest.approx(float(np.mean(draws)), abs=0.004)


@pytest.mark.slow
def test_fidelity_report_on_the_shared_routerbench_prompts(tmp_path: Path):
    from .conftest import shared_data_or_skip

    folder = shared_data_or_skip("routerbench")
    command = [sys.executable, "-m", "orchestai.evaluate.fidelity", "--data-dir", str(folder), "--out-dir", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "fidelity.json").read_text())
    assert report["held_out_prompts"] == 441
    world = report["success"]["synthetic world"]
    assert set(world["per_model"]) == set(report["recorded_success_rate"]) and len(world["per_model"]) == 11
    assert 0.0 < world["pooled"]["brier"] < 0.25
    # a single model's return in the replay env is its recorded mean score minus the cost weight times its mean cost
    data = load_routerbench_folder(folder)
    _, test = split_prompts(data.prompts, 0.2, 0)
    gpt4 = "gpt-4-1106-preview"
    expected = float(np.mean([p.scores[gpt4] - 100.0 * p.costs[gpt4] for p in test]))
    assert report["returns"][gpt4]["routerbench_v0"] == pytest.approx(expected, abs=1e-9)


# ---------------------------------------------------------------- a separate test folder
def test_a_separate_test_folder_is_held_out_and_everything_fits_on_the_training_rows(tmp_path: Path):
    from orchestai.routing.config import RoutingConfig
    from orchestai.routing.report import router_sweeps

    train_dir = write_toy_csv(tmp_path / "train", rows=slice(0, 60))
    test_dir = write_toy_csv(tmp_path / "test", rows=slice(60, 90))
    data, test_data = load_routerbench_folder(train_dir), load_routerbench_folder(test_dir)
    env = RouterBenchEnv(data=data, test_data_dir=test_dir, split="test")
    assert [p.sample_id for p in env.prompts] == [p.sample_id for p in test_data.prompts]
    train_env = RouterBenchEnv(data=data, test_data_dir=test_dir, split="train")
    assert len(train_env.prompts) == 60  # every training row trains
    # world skills come from the training rows only
    expected = np.mean([p.scores[MODELS[1]] for p in data.prompts if p.dataset == "quiz"])
    world = train_env.world
    assert world.skill[world.type_index["quiz"], world.model_index[MODELS[1]]] == pytest.approx(expected)
    config = RoutingConfig(data_dir=str(train_dir), test_dir=str(test_dir), ppo_timesteps=0, embeddings="no", knn_k=5)
    table, sweeps = router_sweeps(config, data, lambda line: None, test_data=test_data)
    assert table.n_prompts == 30 and all(len(choices) == 30 for sweep in sweeps.values() for choices in sweep)
    with pytest.raises(Exception, match="also training prompts"):
        RouterBenchEnv(data=data, test_data=data)


@needs_embeddings
@pytest.mark.parametrize(
    "argv, message",
    [
        (["orchestai.route", "hello", "--cost-weight", "-1"], "cost_weight must be a finite number >= 0"),
        (["orchestai.route", "hello", "--dataset", "nope"], "data set 'nope' is not one the outcome model knows"),
        (["orchestai.routing.calibrate", "--target-cost-fraction", "0"], "target_cost_fraction must be > 0"),
        (
            ["orchestai.routing.calibrate", "--target-cost-fraction", "0.3", "--reference-model", "gpt-5"],
            "unknown model 'gpt-5'",
        ),
    ],
)
def test_routing_clis_answer_bad_input_in_one_line(toy_outcome_model, argv: list[str], message: str):
    _, out, _ = toy_outcome_model
    command = [sys.executable, "-m", *argv, "--router", str(out / "outcome_model.pt")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_the_cost_conditioned_replay_env_passes_the_checkers():
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = RouterBenchEnv(data=routerbench_toy_data(), split="train", cost_weight_range=(1.0, 1000.0))
    check_env(env, skip_render_check=True)
    sb3_check_env(RouterBenchEnv(data=routerbench_toy_data(), cost_weight_range=(1.0, 1000.0)), warn=False)
