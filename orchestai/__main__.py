"""``python -m orchestai``: the main job on the bundled defaults.

Stages: (1) generate (or reuse) the default synthetic data set of 1,000 execution logs
and validate it; (2) run every baseline routing policy in ``orchestai/Workflow-v0`` on
the same seeded episodes and print their success rate, cost, makespan and return.
Each stage prints where its outputs went.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from orchestai.data.generate import ensure_default_logs
from orchestai.data.logs import load_logs
from orchestai.paths import DEFAULT_LOGS_PATH
from orchestai.world.world import World


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Run the OrchestAI pipeline on the bundled defaults.")
    parser.add_argument("--logs", type=Path, default=DEFAULT_LOGS_PATH, help="synthetic log file (generated if absent)")
    parser.add_argument("--episodes", type=int, default=200, help="evaluation episodes per baseline")
    args = parser.parse_args(argv)
    world = World.load()
    print(f"[1/2] world: {world.n_types} task types, {world.n_models} worker models (configs/world.yaml)")
    path = ensure_default_logs(args.logs, world=world)
    loaded = load_logs(path, world)
    print(f"      synthetic execution logs: {len(loaded.logs)} valid records in {path}")

    from orchestai.evaluate.baselines import BASELINES
    from orchestai.evaluate.rollouts import evaluate_policy, format_table

    print(f"[2/2] baselines on {args.episodes} seeded synthetic workflows (orchestai/Workflow-v0)")
    results = [evaluate_policy(cls(), args.episodes, seed=10_000) for cls in BASELINES.values()]
    print(format_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
