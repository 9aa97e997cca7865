"""Ablation: how many PPO steps does a run from ``--init`` need to reach the final return of a run from scratch?

Reads the SB3 ``progress.csv`` of two ``python -m orchestai.phase2.ppo`` runs (one with
``--init``, one without) and answers on two curves:

* **held-out greedy return** (``eval/mean_reward``: the greedy policy on the same
  ``curve_episodes`` held-out workflows every ``curve_every`` steps);
* **training return** (``rollout/ep_rew_mean`` smoothed over ``--window`` rollouts: the
  sampling policy on training workflows, exploration included).

For each it takes the scratch run's final value and prints the first step at which each
run reaches it, and their ratio (aim: the init run needs under 30% of the scratch
run's steps).

    python benchmarks/init_ablation.py --init-run runs/phase2_init --scratch-run runs/phase2_scratch
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path


def curve(run: Path, key: str, window: int = 1) -> list[tuple[int, float]]:
    """``(step, value)`` of ``key`` in a run's ``progress.csv``, averaged over the last ``window`` values."""
    with (run / "progress.csv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get(key)]
    points = [(int(float(r["time/total_timesteps"])), float(r[key])) for r in rows]
    smoothed = []
    for i, (step, _) in enumerate(points):
        recent = [v for _, v in points[max(0, i - window + 1) : i + 1]]
        smoothed.append((step, sum(recent) / len(recent)))
    return smoothed


def first_reaching(points: list[tuple[int, float]], target: float) -> int | None:
    """The first step whose value is at least ``target``."""
    return next((step for step, value in points if value >= target), None)


def compare(name: str, init: list[tuple[int, float]], scratch: list[tuple[int, float]]) -> None:
    """Print how soon each run reaches the scratch run's final value."""
    if not init or not scratch:
        print(f"{name}: missing in one of the runs")
        return
    target = scratch[-1][1]
    init_steps, scratch_steps = first_reaching(init, target), first_reaching(scratch, target)
    print(f"{name}")
    print(f"  scratch run: final {target:.3f} after {scratch[-1][0]} steps (first reached at {scratch_steps})")
    print(f"  init run: first {init[0][1]:.3f} at {init[0][0]} steps, final {init[-1][1]:.3f} after {init[-1][0]} steps")
    if init_steps is None or not scratch_steps:
        print("  the init run never reached the scratch run's final value")
    else:
        print(
            f"  init run reaches it at {init_steps} steps: {init_steps / scratch_steps:.1%} of the scratch run's {scratch_steps} (aim < 30%)"
        )


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--init-run", type=Path, required=True)
    parser.add_argument("--scratch-run", type=Path, required=True)
    parser.add_argument("--window", type=int, default=5, help="rollouts to average for the training return")
    args = parser.parse_args()
    compare(
        "held-out greedy return (eval/mean_reward)",
        curve(args.init_run, "eval/mean_reward"),
        curve(args.scratch_run, "eval/mean_reward"),
    )
    compare(
        f"training return (rollout/ep_rew_mean, mean of {args.window} rollouts)",
        curve(args.init_run, "rollout/ep_rew_mean", args.window),
        curve(args.scratch_run, "rollout/ep_rew_mean", args.window),
    )


if __name__ == "__main__":
    main()
