from __future__ import annotations

import json
import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import orchestai
from orchestai.envs import WORKFLOW_ENV_ID
from orchestai.envs.workflow_env import WorkflowEnv
from orchestai.world.world import World

# Warnings the checkers may raise that we accept, each with the reason.
WARNING_ALLOWLIST = (
    # SB3 recommends flattening 2-D Box observations for its MlpPolicy; adjacency (N, N)
    # and the per-subtask / per-model tables are 2-D on purpose (PlannerPolicy reads them
    # as tables), and SB3's CombinedExtractor flattens them anyway.
    "has an unconventional shape (neither an image, nor a 1D vector)",
)


def _run_checkers(env: gym.Env) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gym_check_env(env.unwrapped, skip_render_check=False)
        sb3_check_env(env, warn=True)
    return [str(w.message) for w in caught if not any(allowed in str(w.message) for allowed in WARNING_ALLOWLIST)]


def _valid_actions(env: gym.Env, obs: dict, rng: np.random.Generator) -> int:
    return int(rng.choice(np.flatnonzero(obs["action_mask"])))


def _rollout(env: gym.Env, seed: int, action_seed: int = 0, max_steps: int = 500):
    rng = np.random.default_rng(action_seed)
    obs, info = env.reset(seed=seed)
    trajectory = [(obs, None, info)]
    for _ in range(max_steps):
        obs, reward, terminated, truncated, info = env.step(_valid_actions(env, obs, rng))
        trajectory.append((obs, reward, info))
        if terminated or truncated:
            break
    return trajectory


def _assert_same(a, b):
    assert len(a) == len(b)
    for (obs_a, r_a, info_a), (obs_b, r_b, info_b) in zip(a, b, strict=True):
        assert obs_a.keys() == obs_b.keys()
        for key in obs_a:
            np.testing.assert_array_equal(obs_a[key], obs_b[key])
        assert r_a == r_b
        assert json.dumps(info_a, sort_keys=True) == json.dumps(info_b, sort_keys=True)


def test_registered_on_import_and_by_module_prefix():
    assert WORKFLOW_ENV_ID in gym.registry
    orchestai.register_envs()  # idempotent
    env = gym.make("orchestai:orchestai/Workflow-v0")
    assert isinstance(env.unwrapped, WorkflowEnv)


def test_checkers_pass_with_only_allowlisted_warnings():
    env = gym.make(WORKFLOW_ENV_ID)
    assert _run_checkers(env) == []


def test_seeded_runs_repeat_exactly():
    a = _rollout(gym.make(WORKFLOW_ENV_ID), seed=11)
    b = _rollout(gym.make(WORKFLOW_ENV_ID), seed=11)
    _assert_same(a, b)
    c = _rollout(gym.make(WORKFLOW_ENV_ID), seed=12)
    assert any(not np.array_equal(x[0]["instruction"], y[0]["instruction"]) for x, y in zip(a, c, strict=False))


def test_pickled_env_continues_identically():
    env = gym.make(WORKFLOW_ENV_ID)
    obs, _ = env.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(4):
        obs, *_ = env.step(_valid_actions(env, obs, rng))
    clone = pickle.loads(pickle.dumps(env))
    for _ in range(5):
        action = _valid_actions(env, obs, rng)
        step_a = env.step(action)
        step_b = clone.step(action)
        _assert_same([(step_a[0], step_a[1], step_a[4])], [(step_b[0], step_b[1], step_b[4])])
        obs = step_a[0]
        if step_a[2]:
            break


def test_spec_is_json_serialisable_and_remakes_the_env(tmp_path):
    from orchestai.paths import DEFAULT_WORLD_PATH

    env = gym.make(WORKFLOW_ENV_ID, world=str(DEFAULT_WORLD_PATH), latency_weight=0.01)
    text = env.spec.to_json()
    spec = gym.envs.registration.EnvSpec.from_json(text)
    remade = gym.make(spec)
    assert remade.unwrapped.latency_weight == 0.01
    assert json.loads(text)["max_episode_steps"] == 256


def test_max_episode_steps_override_truncates():
    env = gym.make(WORKFLOW_ENV_ID, max_episode_steps=3)
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    results = [env.step(_valid_actions(env, obs, rng)) for _ in range(3)]
    assert [r[3] for r in results] == [False, False, True]


def test_kwargs_override_world_settings():
    env = gym.make(WORKFLOW_ENV_ID, success_bonus=5.0, cost_weight=0.0, latency_weight=0.0, max_retries=0)
    unwrapped = env.unwrapped
    assert (unwrapped.success_bonus, unwrapped.cost_weight, unwrapped.latency_weight, unwrapped.max_retries) == (
        5.0,
        0.0,
        0.0,
        0,
    )


def test_observations_are_fresh_arrays_not_mutated_later():
    env = gym.make(WORKFLOW_ENV_ID)
    obs, _ = env.reset(seed=5)
    snapshot = {k: v.copy() for k, v in obs.items()}
    rng = np.random.default_rng(1)
    next_obs = obs
    for _ in range(6):
        next_obs, *_ = env.step(_valid_actions(env, next_obs, rng))
    for key in obs:
        np.testing.assert_array_equal(obs[key], snapshot[key])
        assert not np.shares_memory(obs[key], next_obs[key])


def test_action_mask_key_matches_action_masks_and_invalid_action_is_a_wasted_failed_call(world: World):
    env = gym.make(WORKFLOW_ENV_ID)
    obs, info = env.reset(seed=2)
    np.testing.assert_array_equal(obs["action_mask"].astype(bool), env.unwrapped.action_masks())
    invalid = int(np.flatnonzero(obs["action_mask"] == 0)[0])
    obs, reward, terminated, _, info = env.step(invalid)
    attempt = env.unwrapped.attempt_times()[-1]
    assert attempt["success"] is False and attempt["cost_usd"] == 0.0
    assert attempt["latency_s"] == world.config.env.invalid_action_latency_s
    expected = (
        -world.config.env.invalid_action_penalty - env.unwrapped.latency_weight * world.config.env.invalid_action_latency_s
    )
    assert reward == pytest.approx(expected)
    assert info["attempt"] == 2  # the same subtask is decided again


def test_model_estimates_are_the_published_numbers_for_the_current_subtask(world: World):
    env = gym.make(WORKFLOW_ENV_ID)
    obs, _ = env.reset(seed=3)
    inner = env.unwrapped
    rng = np.random.default_rng(0)
    checked_reduced_quality = False
    for _ in range(60):
        ctx = inner.current_context()
        t = ctx["task_type"]
        offset = float(world.difficulty_offset[t])
        expected = np.array(
            [
                [
                    inner.simulator.success_probability(t, m, offset, ctx["input_quality"]),
                    world.expected_cost(m, ctx["input_tokens"], ctx["output_tokens"]) / inner._cost_scale,
                    inner.simulator.expected_latency_s(m, ctx["output_tokens"]) / inner._time_scale,
                ]
                for m in range(world.n_models)
            ]
        )
        np.testing.assert_allclose(obs["model_estimates"], expected, rtol=1e-5, atol=1e-9)
        assert np.all((obs["model_estimates"][:, 0] > 0) == world.capable[t])
        checked_reduced_quality |= ctx["input_quality"] < 1.0
        obs, _, terminated, _, _ = env.step(_valid_actions(env, obs, rng))
        if terminated:
            obs, _ = env.reset()
    assert checked_reduced_quality  # the success estimate followed a weaker upstream result


@pytest.mark.parametrize("seed", range(0, 200, 7))
def test_model_health_counts_errors_apart_from_wrong_answers(seed: int):
    from orchestai.world.simulator import DOWN, NORMAL

    env = gym.make(WORKFLOW_ENV_ID)
    obs, _ = env.reset(seed=seed)
    inner = env.unwrapped
    inner._conditions[:] = [NORMAL] * len(inner._conditions)  # only the forced outage below
    assert obs["progress"][6] == inner.max_retries + 1
    capable = np.flatnonzero(obs["action_mask"])
    down, wrong = int(capable[0]), int(capable[1])
    inner._conditions[down] = DOWN
    obs, *_ = env.step(down)
    assert obs["model_health"][down, 1] == 1.0 and obs["model_health"][down, 3] == 1.0  # failed with an error
    inner._difficulty[inner.current_subtask] = 50.0  # hopeless: the answer is wrong, but it comes back
    obs, *_ = env.step(wrong)
    assert obs["model_health"][wrong, 1] == 1.0 and obs["model_health"][wrong, 3] == 0.0
    incapable = int(np.flatnonzero(obs["action_mask"] == 0)[0])
    obs, *_ = env.step(incapable)
    assert obs["model_health"][incapable, 3] == 1.0  # a model that cannot do the task errors like a down one
    assert obs["progress"][6] == inner.max_retries + 1 - 3  # attempts left for this subtask


def test_retry_limit_ends_the_episode_in_failure():
    env = gym.make(WORKFLOW_ENV_ID, max_retries=1)
    obs, _ = env.reset(seed=0)
    invalid = int(np.flatnonzero(obs["action_mask"] == 0)[0])
    _, _, terminated, _, _ = env.step(invalid)
    assert not terminated
    _, _, terminated, _, info = env.step(invalid)
    assert terminated and info["success"] is False and "log" in info


def test_cost_budget_ends_the_episode_exactly_when_it_is_spent():
    budget = 1e-4
    env = gym.make(WORKFLOW_ENV_ID, cost_budget_usd=budget)
    world, ended_by_budget = env.unwrapped.world, 0
    for seed in range(60):
        env.reset(seed=seed)
        strongest = int(np.argmax(world.skill[env.unwrapped.current_context()["task_type"]]))
        obs, _, terminated, _, info = env.step(strongest)
        spent = info["cost_usd"] >= budget
        # a down model answers with an error and charges nothing: then the episode goes on
        assert terminated == (spent or env.unwrapped.attempt_times()[-1]["attempt"] > env.unwrapped.max_retries)
        if spent:
            ended_by_budget += 1
            assert not info["success"] and obs["progress"][2] == 0.0  # no budget left
    assert ended_by_budget >= 50  # the strongest model's first call costs more than the budget unless it is down


def test_episode_log_is_valid_training_data(tmp_path, world: World):
    from orchestai.logs.io import load_logs, write_logs

    env = gym.make(WORKFLOW_ENV_ID)
    records = []
    for seed in range(5):
        trajectory = _rollout(env, seed=seed, action_seed=seed)
        records.append(trajectory[-1][2]["log"])
    path = tmp_path / "env_logs.jsonl"
    write_logs(path, records)
    loaded = load_logs(path, world)
    assert len(loaded.logs) == 5
    for log, record in zip(loaded.logs, records, strict=True):
        assert log.source == "synthetic"
        assert log.outcome.total_cost_usd == pytest.approx(record["outcome"]["total_cost_usd"])
        assert len(log.execution) == len(record["execution"]) >= 1


def test_replaying_a_log_file_keeps_the_recorded_structure(small_log_file, small_logs):
    env = gym.make(WORKFLOW_ENV_ID, task_source=str(small_log_file))
    assert env.unwrapped.n_workflows == len(small_logs)
    obs, _ = env.reset(seed=0, options={"workflow_index": 2})
    record = small_logs[2]
    n = len(record["subtasks"])
    assert int((obs["subtask_types"] > 0).sum()) == n
    assert int(obs["adjacency"].sum()) == sum(len(s["depends_on"]) for s in record["subtasks"])


def test_render_ansi_shows_the_dag():
    env = gym.make(WORKFLOW_ENV_ID, render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert "NOW" in text and "s0" in text and "<-" in text


def test_gymnasium_sync_vector_env():
    envs = gym.make_vec(WORKFLOW_ENV_ID, num_envs=3, vectorization_mode="sync")
    obs, _ = envs.reset(seed=0)
    assert obs["adjacency"].shape == (3, 32, 32)
    for _ in range(30):
        masks = obs["action_mask"]
        actions = np.array([int(np.flatnonzero(m)[0]) for m in masks])
        obs, rewards, terminated, truncated, infos = envs.step(actions)
        assert np.all(np.isfinite(rewards))
    envs.close()


def test_sb3_make_vec_env_with_subprocesses():
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import SubprocVecEnv

    venv = make_vec_env("orchestai:orchestai/Workflow-v0", n_envs=2, seed=0, vec_env_cls=SubprocVecEnv)
    try:
        obs = venv.reset()
        for _ in range(25):
            actions = np.array([int(np.flatnonzero(m)[0]) for m in obs["action_mask"]])
            obs, rewards, dones, infos = venv.step(actions)
            assert np.all(np.isfinite(rewards))
        masks = venv.env_method("action_masks")
        assert len(masks) == 2 and masks[0].dtype == bool
    finally:
        venv.close()


def test_render_rgb_array_is_an_image():
    env = gym.make(WORKFLOW_ENV_ID, render_mode="rgb_array")
    env.reset(seed=0)
    image = env.render()
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert (image[:12, :11] == (40, 110, 230)).all()  # the first subtask is being decided


def test_envs_of_one_world_file_share_the_world_and_its_templates(tmp_path):
    from orchestai.paths import DEFAULT_WORLD_PATH
    from orchestai.world.templates import world_templates

    a, b = gym.make(WORKFLOW_ENV_ID).unwrapped, gym.make(WORKFLOW_ENV_ID).unwrapped
    assert a.world is b.world and world_templates(a.world) is world_templates(b.world)
    with pytest.raises(ValueError, match="read-only"):
        a.world.skill[0, 0] = 0.5  # shared, so nothing may change it
    copy = tmp_path / "world.yaml"
    copy.write_text(DEFAULT_WORLD_PATH.read_text())
    first = World.load(copy)
    assert World.load(copy) is first
    copy.write_text(DEFAULT_WORLD_PATH.read_text().replace("success_bonus: 1.0", "success_bonus: 2.0"))
    reloaded = World.load(copy)  # the file changed: read again
    assert reloaded is not first and reloaded.config.env.success_bonus == 2.0
