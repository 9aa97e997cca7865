"""LogReplayEnv: replaying a log's calls rebuilds the observations the router had."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from orchestai.envs.log_replay import LogReplayEnv, replay_decisions
from orchestai.envs.workflow_env import WorkflowEnv
from orchestai.logs.schema import LogValidationError, validate_record
from orchestai.world.world import World


def _episodes_with_observations(world: World, n: int, seed: int) -> list[tuple[dict, list[dict], list[int]]]:
    """Episodes of a policy that retries, switches models and sometimes calls an incapable one."""
    env = WorkflowEnv(world=world)
    rng = np.random.default_rng(seed)
    episodes = []
    for k in range(n):
        obs, _ = env.reset(seed=seed + k)
        seen, actions = [], []
        while True:
            mask = obs["action_mask"].astype(bool)
            action = int(rng.integers(world.n_models)) if rng.random() < 0.1 else int(rng.choice(np.flatnonzero(mask)))
            seen.append(obs)
            actions.append(action)
            obs, _reward, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
        episodes.append((info["log"], seen, actions))
    return episodes


def test_replay_rebuilds_every_observation_exactly(world: World):
    episodes = _episodes_with_observations(world, 25, seed=11)
    replay = LogReplayEnv(world=world)
    errors = retries = 0
    for index, (record, seen, actions) in enumerate(episodes):
        log = validate_record(record, world, index=index)
        decisions = replay.replay(log, index=index)
        assert [model for _, model in decisions] == actions
        for (replayed, _), original in zip(decisions, seen, strict=True):
            for key, value in original.items():
                np.testing.assert_array_equal(replayed[key], value, err_msg=f"log {index}, key {key}")
        errors += sum(a.error for a in log.execution)
        retries += sum(a.attempt > 1 for a in log.execution)
    # the check covers what only execution feedback shows
    assert errors > 0 and retries > 0


def test_replayed_decisions_stack_the_chosen_keys(world: World):
    episodes = _episodes_with_observations(world, 4, seed=3)
    logs = [validate_record(record, world) for record, _, _ in episodes]
    decisions = replay_decisions(logs, world, keys=("model_health", "progress"))
    total = sum(len(actions) for _, _, actions in episodes)
    assert set(decisions.observations) == {"model_health", "progress"}
    assert decisions.observations["model_health"].shape == (total, world.n_models, 4)
    assert decisions.actions.tolist() == [a for _, _, actions in episodes for a in actions]
    assert decisions.log_index.tolist() == [k for k, (_, _, actions) in enumerate(episodes) for _ in actions]


@pytest.mark.parametrize(("how", "field"), [("order", "subtask"), ("attempt", "attempt"), ("extra", "execution[")])
def test_a_log_the_env_cannot_have_written_names_the_call(world: World, how: str, field: str):
    record, _, _ = next(e for e in _episodes_with_observations(world, 10, seed=5) if len(e[0]["execution"]) > 3)
    record = copy.deepcopy(record)
    calls = record["execution"]
    if how == "order":
        k = next(k for k in range(1, len(calls)) if calls[k]["subtask"] != calls[0]["subtask"])
        calls[0], calls[k] = calls[k], calls[0]
    elif how == "attempt":
        calls[0]["attempt"] = 2
    else:
        calls.append(dict(calls[-1]))
        record["outcome"]["total_cost_usd"] += calls[-1]["cost_usd"]
    # the schema catches what it can see alone (attempt numbers, calls after the end); the
    # replay catches what needs the env's rules (which ready subtask is routed next)
    with pytest.raises(LogValidationError) as raised:
        log = validate_record(record, world, path="runs.jsonl", index=3)
        LogReplayEnv(world=world).replay(log, "runs.jsonl", 3)
    assert raised.value.record == 3 and field in (raised.value.field or "")
    assert "runs.jsonl" in str(raised.value)
