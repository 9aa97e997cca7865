"""Ablation: how many PPO steps does a run from ``--init`` need to reach the final return of a run from scratch?

Reads the SB3 ``progress.csv`` of two ``python -m orchestai.phase2.ppo`` runs (one with
``--init``, one without), smooths ``rollout/ep_rew_mean`` over ``--window`` rollouts, takes
the scratch run's final smoothed return, and prints the first step at which each run
reaches it and their ratio (aim: the init run needs under 30% of the scratch run's steps).

    python benchmarks/init_ablation.py --init-run runs/phase2_init --scratch-run runs/phase2_scratch
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path


def curve(run: Path, window: int) -> list[tuple[int, float]]:
    with (run / "progress.csv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("rollout/ep_rew_mean")]
    points = [(int(float(r["time/total_timesteps"])), float(r["rollout/ep_rew_mean"])) for r in rows]
    return [
        (step, sum(v for _, v in points[max(0, i - window + 1) : i + 1]) / len(points[max(0, i - window + 1) : i + 1]))
        for i, (step, _) in enumerate(points)
    ]


def first_reaching(points: list[tuple[int, float]], target: float) -> int | None:
    return next((step for step, value in points if value >= target), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--init-run", type=Path, required=True)
    parser.add_argument("--scratch-run", type=Path, required=True)
    parser.add_argument("--window", type=int, default=5, help="rollouts to average")
    args = parser.parse_args()
    init, scratch = curve(args.init_run, args.window), curve(args.scratch_run, args.window)
    target = scratch[-1][1]
    init_steps, scratch_steps = first_reaching(init, target), first_reaching(scratch, target)
    print(f"scratch run: final smoothed return {target:.3f} after {scratch[-1][0]} steps (first reached at {scratch_steps})")
    print(f"init run: starts at {init[0][1]:.3f}, final {init[-1][1]:.3f} after {init[-1][0]} steps")
    if init_steps is None:
        print("the init run never reached the scratch run's final return")
    else:
        print(
            f"init run reaches it at {init_steps} steps: {init_steps / scratch_steps:.1%} of the scratch run's {scratch_steps} (aim < 30%)"
        )


if __name__ == "__main__":
    main()
