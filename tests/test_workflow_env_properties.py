"""Property tests: random workflows and random action sequences (hypothesis)."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestai.envs.workflow_env import WorkflowEnv
from orchestai.world.workflow import WorkflowSpec
from orchestai.world.world import World

_WORLD = World.load()
_ENV = WorkflowEnv(world=_WORLD)


@st.composite
def workflows(draw: st.DrawFn) -> WorkflowSpec:
    n = draw(st.integers(1, _WORLD.config.templates.max_subtasks))
    types = draw(st.lists(st.integers(0, _WORLD.n_types - 1), min_size=n, max_size=n))
    parents = []
    for i in range(n):
        chosen = draw(st.sets(st.integers(0, i - 1), max_size=min(i, 3))) if i else set()
        parents.append(tuple(sorted(chosen)))
    tokens = draw(st.lists(st.integers(1, 3000), min_size=2 * n, max_size=2 * n))
    return WorkflowSpec(
        id="property",
        instruction="a random workflow " + " ".join(str(t) for t in types),
        types=tuple(types),
        input_tokens=tuple(tokens[:n]),
        output_tokens=tuple(tokens[n:]),
        parents=tuple(parents),
        descriptions=tuple("subtask" for _ in range(n)),
    )


def _critical_path(attempts: list[dict], workflow: WorkflowSpec) -> float:
    """Longest path through the DAG where each subtask weighs the sum of its attempts' latencies."""
    duration = [0.0] * workflow.n_subtasks
    for attempt in attempts:
        duration[int(attempt["subtask"][1:])] += attempt["latency_s"]
    graph = nx.DiGraph()
    for i in range(workflow.n_subtasks):
        graph.add_edge(("in", i), ("out", i), weight=duration[i])
    for parent, child in workflow.edges():
        graph.add_edge(("out", parent), ("in", child), weight=0.0)
    return nx.dag_longest_path_length(graph, weight="weight")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    workflow=workflows(),
    actions=st.lists(st.integers(0, _WORLD.n_models - 1), min_size=1, max_size=40),
    seed=st.integers(0, 2**31 - 1),
)
def test_random_episodes_keep_every_invariant(workflow: WorkflowSpec, actions: list[int], seed: int):
    env = _ENV
    obs, info = env.reset(seed=seed, options={"workflow": workflow})
    total_reward, last_cost = 0.0, 0.0
    limit = workflow.n_subtasks * (env.max_retries + 1)
    for step in range(limit + 1):
        assert step < limit, "the episode did not terminate within n_subtasks * (max_retries + 1) steps"
        obs, reward, terminated, truncated, info = env.step(actions[step % len(actions)])
        assert math.isfinite(reward)
        for key, value in obs.items():
            assert np.all(np.isfinite(value)), key
            assert env.observation_space[key].contains(value), key
        assert info["cost_usd"] >= last_cost
        last_cost = info["cost_usd"]
        total_reward += reward
        if terminated:
            break
    expected = (
        env.success_bonus * info["success"]
        - env.cost_weight * info["cost_usd"]
        - env.latency_weight * info["makespan_s"]
        - env.invalid_action_penalty * info["invalid_calls"]
    )
    assert info["invalid_calls"] == sum(
        a["error"]
        and a["cost_usd"] == 0.0
        and not env.world.capable[workflow.types[int(a["subtask"][1:])], env.world.model_index[a["model"]]]
        for a in env.attempt_times()
    )
    assert math.isclose(total_reward, expected, rel_tol=1e-9, abs_tol=1e-9)
    attempts = env.attempt_times()
    assert math.isclose(info["makespan_s"], _critical_path(attempts, workflow), rel_tol=1e-9, abs_tol=1e-9)
    # each attempt starts when its parents' last attempts end, or when its own previous attempt ended
    end_of = {}
    for attempt in attempts:
        i = int(attempt["subtask"][1:])
        earliest = max([end_of[p] for p in workflow.parents[i]], default=0.0)
        assert math.isclose(attempt["start_s"], max(earliest, end_of.get(i, 0.0)), abs_tol=1e-9)
        end_of[i] = attempt["end_s"]
    assert info["success"] == all(
        any(a["success"] for a in attempts if a["subtask"] == f"s{i}") for i in range(workflow.n_subtasks)
    )
