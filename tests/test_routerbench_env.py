"""orchestai/RouterBench-v0: replay of recorded outcomes, on a toy table and on the shared data."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import orchestai  # noqa: F401  (registers the envs)
from orchestai.envs.routerbench_data import load_routerbench_folder
from orchestai.envs.routerbench_env import RouterBenchEnv
from orchestai.logs.schema import validate_record

from .conftest import ROUTERBENCH_TOY_MODELS as MODELS
from .conftest import SHOT, shared_data_or_skip
from .conftest import routerbench_toy_data as toy_data


def test_toy_env_passes_the_checkers_pickles_and_replays():
    env = RouterBenchEnv(data=toy_data(), split="train")
    check_env(env, skip_render_check=True)
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    sb3_check_env(RouterBenchEnv(data=toy_data()), warn=False)
    clone = pickle.loads(pickle.dumps(env))
    first = env.reset(seed=3)[0]
    second = clone.reset(seed=3)[0]
    assert all(np.array_equal(first[k], second[k]) for k in first)


@pytest.mark.parametrize("model", range(3))
def test_step_returns_the_recorded_outcome_and_cost(model: int):
    data = toy_data()
    env = RouterBenchEnv(data=data, split="all", cost_weight=10.0)
    obs, info = env.reset(seed=0, options={"workflow_index": 4})
    prompt = data.prompts[4]
    assert info["sample_ids"] == [prompt.sample_id]
    assert obs["action_mask"].tolist() == [1, 1, 1]
    _, reward, terminated, _, info = env.step(model)
    name = MODELS[model]
    assert terminated
    assert info["success"] == (prompt.scores[name] == 1.0)
    assert info["cost_usd"] == prompt.costs[name]
    assert reward == pytest.approx(prompt.scores[name] - 10.0 * prompt.costs[name])
    assert info["makespan_s"] > 0
    log = info["log"]
    assert log["source"] == "routerbench-replay" and log["execution"][0]["model"] == name
    validate_record(log, env.world, "toy", 0)


def test_instruction_has_the_common_prefix_stripped():
    env = RouterBenchEnv(data=toy_data(), split="all")
    assert env.stripper.prefixes["quiz"].startswith(SHOT)
    assert all(not text.startswith("Question:") for text in env.instructions)


def test_workflows_of_several_prompts_run_as_a_dag():
    env = gym.make("orchestai/RouterBench-v0", data=toy_data(), prompts_per_episode=3, max_retries=1)
    obs, info = env.reset(seed=11)
    assert len(info["sample_ids"]) == 3 and len(set(info["sample_ids"])) == 3
    total, steps, terminated = 0.0, 0, False
    while not terminated:
        obs, reward, terminated, truncated, info = env.step(2)
        total += reward
        steps += 1
    assert 1 <= steps <= 6
    expected = float(info["success"]) - 100.0 * info["cost_usd"]
    assert total == pytest.approx(expected)


def test_seeded_split_gives_the_same_test_prompts_to_every_env():
    a = RouterBenchEnv(data=toy_data(), split="test", split_seed=1)
    b = RouterBenchEnv(data=toy_data(), split="test", split_seed=1)
    train = RouterBenchEnv(data=toy_data(), split="train", split_seed=1)
    assert [p.sample_id for p in a.prompts] == [p.sample_id for p in b.prompts]
    assert {p.sample_id for p in a.prompts}.isdisjoint({p.sample_id for p in train.prompts})


def test_missing_data_dir_is_a_clear_error():
    with pytest.raises(ValueError, match="needs data_dir"):
        gym.make("orchestai/RouterBench-v0")


def test_planner_policy_trains_and_acts_on_the_replay_env():
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    from orchestai.planner.model import PlannerConfig
    from orchestai.policies.planner_policy import PlannerPolicy, planner_policy_kwargs_for_world

    venv = make_vec_env("orchestai/RouterBench-v0", n_envs=2, seed=0, env_kwargs={"data": toy_data()})
    kwargs = planner_policy_kwargs_for_world(venv.get_attr("world", [0])[0], PlannerConfig(d_model=16))
    model = PPO(PlannerPolicy, venv, n_steps=64, batch_size=64, n_epochs=1, policy_kwargs=kwargs, seed=0)
    selector_before = model.policy.planner.selector[-1].weight.detach().clone()
    value_before = model.policy.value_net.weight.detach().clone()
    model.learn(256)
    # the replay env's rewards reach both heads through PPO's updates
    assert not torch.equal(selector_before, model.policy.planner.selector[-1].weight)
    assert not torch.equal(value_before, model.policy.value_net.weight)
    obs = venv.reset()
    actions, _ = model.predict(obs, deterministic=True)
    assert actions.shape == (2,)


def test_shared_routerbench_replay_matches_the_csv():
    folder = shared_data_or_skip("routerbench")
    data = load_routerbench_folder(folder)
    env = gym.make("orchestai/RouterBench-v0", data_dir=str(folder), split="test")
    unwrapped = env.unwrapped
    assert unwrapped.world.type_names == ["arc-challenge", "mbpp", "winogrande"]
    assert len(unwrapped.skipped) == 20
    assert unwrapped.stripper.prefixes["arc-challenge"] and unwrapped.stripper.prefixes["winogrande"]
    assert unwrapped.stripper.prefixes["mbpp"] == ""
    by_id = {(p.dataset, p.sample_id): p for p in data.prompts}
    gpt4 = unwrapped.world.model_index["gpt-4-1106-preview"]
    for index in (0, 100, 400):
        _, info = env.reset(seed=index, options={"workflow_index": index})
        prompt = by_id[(unwrapped.prompts[index].dataset, info["sample_ids"][0])]
        _, _, _, _, info = env.step(gpt4)
        assert info["cost_usd"] == prompt.costs["gpt-4-1106-preview"]
        assert info["success"] == (prompt.scores["gpt-4-1106-preview"] == 1.0)


@pytest.mark.slow
def test_routing_report_cli_end_to_end(tmp_path):
    import csv
    import subprocess
    import sys

    folder = shared_data_or_skip("routerbench")
    command = [
        sys.executable, "-m", "orchestai.evaluate", "--env", "orchestai/RouterBench-v0", "--data-dir", str(folder),
        "--ppo-timesteps", "512", "--ppo-n-steps", "64", "--ppo-batch-size", "64", "--ppo-cost-weights", "0", "1000",
        "--embeddings", "no", "--ppo-prompt-features", "words", "--cache-dir", str(tmp_path / "cache"), "--out-dir", str(tmp_path),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "20 rows skipped (empty cells)" in result.stdout
    assert "arc-challenge: stripped a common prefix of 1700 characters" in result.stdout
    rows = {row["router"]: row for row in csv.DictReader((tmp_path / "routing.csv").open())}
    assert set(rows) == {
        "zero (single models' hull)", "per-data-set best model", "kNN TF-IDF (k=40)",
        "PPO (PlannerPolicy, one run per cost weight)", "oracle (best model per prompt, cheapest among ties)",
        "oracle, swept over the cost weight",
    }  # fmt: skip
    oracle, zero = (
        float(rows["oracle, swept over the cost weight"]["aiq_pooled"]),
        float(rows["zero (single models' hull)"]["aiq_pooled"]),
    )
    assert 0.5 < zero < oracle <= 1.0
    for row in rows.values():
        assert 0.0 <= float(row["aiq_pooled"]) <= oracle + 1e-9
    assert (tmp_path / "routing_curves.png").stat().st_size > 10_000
    assert sorted(p.name for p in (tmp_path / "routers").glob("*.zip")) == [
        "ppo_cost_weight_0.zip",
        "ppo_cost_weight_1000.zip",
    ]


def test_routing_report_bad_data_dir_is_a_clear_error(tmp_path):
    from orchestai.routing.report import main

    assert main(["--data-dir", str(tmp_path), "--ppo-timesteps", "0"]) == 2


def test_prompt_features_must_be_known():
    with pytest.raises(ValueError, match="prompt_features must be one of"):
        RouterBenchEnv(data=toy_data(), prompt_features="tfidf")


def test_policy_reading_no_words_needs_an_embedding_observation():
    from stable_baselines3 import PPO

    from orchestai.planner.model import PlannerConfig
    from orchestai.policies.planner_policy import PlannerPolicy, planner_policy_kwargs_for_world

    env = RouterBenchEnv(data=toy_data())
    kwargs = planner_policy_kwargs_for_world(env.world, PlannerConfig(d_model=16), read_words=False)
    with pytest.raises(ValueError, match="instruction_embedding"):
        PPO(PlannerPolicy, env, policy_kwargs=kwargs)


def test_sentence_embedding_observation_drives_a_policy_that_reloads(tmp_path):
    from orchestai.envs.embeddings import EMBEDDINGS_EXTRA_HINT, embeddings_available

    if not embeddings_available():
        pytest.skip(f"the optional sentence encoder is not installed: {EMBEDDINGS_EXTRA_HINT}")
    from stable_baselines3 import PPO

    from orchestai.planner.model import PlannerConfig
    from orchestai.policies.planner_policy import PlannerPolicy, planner_policy_kwargs_for_world

    env = RouterBenchEnv(data=toy_data(), prompt_features="minilm", cache_dir=tmp_path / "cache")
    obs, _ = env.reset(seed=0, options={"workflow_index": 0})
    assert obs["instruction_embedding"].shape == (384,)
    assert np.linalg.norm(obs["instruction_embedding"]) == pytest.approx(1.0, abs=1e-5)
    assert list((tmp_path / "cache").glob("minilm-*.npy"))  # computed once, cached
    check_env(env, skip_render_check=True)
    kwargs = planner_policy_kwargs_for_world(env.world, PlannerConfig(d_model=16), read_words=False)
    model = PPO(PlannerPolicy, env, n_steps=64, batch_size=64, n_epochs=2, policy_kwargs=kwargs, seed=0)
    projection = model.policy.features_extractor.embedding_projection
    before = projection.weight.detach().clone()
    model.learn(128)
    assert not torch.equal(before, projection.weight)  # the policy learns through it
    model.save(tmp_path / "router.zip")
    loaded = PPO.load(tmp_path / "router.zip", device="cpu")
    assert loaded.policy.features_extractor.read_words is False
    assert loaded.predict(obs, deterministic=True)[0] == model.predict(obs, deterministic=True)[0]


def test_spec_round_trips_through_json_with_a_data_folder():
    folder = shared_data_or_skip("routerbench")
    env = gym.make("orchestai/RouterBench-v0", data_dir=str(folder), split="test", cost_weight=50.0)
    again = gym.make(gym.envs.registration.EnvSpec.from_json(env.spec.to_json()))
    assert again.unwrapped.cost_weight == 50.0 and again.unwrapped.n_workflows == env.unwrapped.n_workflows == 441
    first, second = env.reset(seed=2)[0], again.reset(seed=2)[0]
    assert all(np.array_equal(first[k], second[k]) for k in first)
