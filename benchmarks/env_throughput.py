"""Raw step throughput of orchestai/Workflow-v0 against CartPole-v1, measured in one run.

Both envs are created with ``gymnasium.make`` (so both carry the same default wrappers)
and stepped with precomputed valid actions: a random action sequence for CartPole, and
for Workflow-v0 one capable model per task type drawn in advance, looked up through
``info["task_type"]``. Resets are included in the timing. The two are measured in
alternating rounds and the median ratio is printed. Target: ratio >= 0.3.

    python benchmarks/env_throughput.py [--steps 50000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium as gym
import numpy as np

import orchestai  # noqa: F401  (registers orchestai/Workflow-v0)


def cartpole_steps_per_second(steps: int, seed: int) -> float:
    env = gym.make("CartPole-v1")
    actions = np.random.default_rng(seed).integers(0, 2, size=steps).tolist()
    env.reset(seed=seed)
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def workflow_steps_per_second(steps: int, seed: int) -> float:
    env = gym.make("orchestai/Workflow-v0")
    world = env.unwrapped.world
    rng = np.random.default_rng(seed)
    valid_for_type = [int(rng.choice(np.flatnonzero(world.capable[t]))) for t in range(world.n_types)]
    _, info = env.reset(seed=seed)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, info = env.step(valid_for_type[info["task_type"]])
        if terminated or truncated:
            _, info = env.reset()
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cartpole, workflow, ratios = [], [], []
    for round_index in range(args.rounds):
        c = cartpole_steps_per_second(args.steps, seed=round_index)
        w = workflow_steps_per_second(args.steps, seed=round_index)
        cartpole.append(c)
        workflow.append(w)
        ratios.append(w / c)
        print(
            f"round {round_index + 1}: CartPole-v1 {c:,.0f} steps/s, orchestai/Workflow-v0 {w:,.0f} steps/s, ratio {w / c:.3f}"
        )
    print(
        f"median: CartPole-v1 {statistics.median(cartpole):,.0f} steps/s, "
        f"orchestai/Workflow-v0 {statistics.median(workflow):,.0f} steps/s, "
        f"ratio {statistics.median(ratios):.3f} (target >= 0.3)"
    )


if __name__ == "__main__":
    main()
