"""Sweep wall time: 4 PPO trials one after another in-process against Ray Tune with 2 workers, and Ray's start-up cost.

Runs the same 4-trial sweep (plain and masked PPO, seeds 0 and 1, ``--timesteps``
steps each) three ways in fresh folders: sequentially in-process; on a local Ray
instance with 2 workers; and on Ray with trials of 0 steps' worth of work (``--timesteps
64``, evaluation off) to show what Ray adds per sweep when the trials do nothing. Prints
the wall times, the ratio Ray / sequential, Ray's own start-up time (``ray.init``), and
checks that the per-trial metrics are identical.

    python benchmarks/sweep_overhead.py [--timesteps 16384]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

from orchestai.configuration import from_mapping
from orchestai.sweep.config import SweepConfig
from orchestai.sweep.runner import run_sweep


def sweep(out_dir: Path, timesteps: int, eval_episodes: int, num_workers: int) -> SweepConfig:
    flags = {
        "timesteps": timesteps, "n_envs": 2, "n_steps": 256, "batch_size": 256, "n_epochs": 2,
        "eval_episodes": eval_episodes, "curve_every": 0, "monitor_logs": 20, "monitor_every": 10**9, "progress": False,
    }  # fmt: skip
    data = {"command": "phase2.ppo", "name": "bench", "flags": flags, "grid": {"masked": [False, True]}, "seeds": [0, 1]}
    return from_mapping(SweepConfig, {**data, "out_dir": str(out_dir), "num_workers": num_workers}, "benchmark")


def timed(config: SweepConfig) -> tuple[float, list, float | None]:
    lines: list[str] = []
    started = time.perf_counter()
    results = run_sweep(config, log=lines.append)
    seconds = time.perf_counter() - started
    assert all(r.ok for r in results), [r.error for r in results]
    init = next((float(m.group(1)) for line in lines if (m := re.search(r"Ray started locally in ([\d.]+)s", line))), None)
    return seconds, results, init


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=16384, help="PPO steps per trial (default 16384)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        timed(sweep(root / "warm-up", 64, 0, 1))  # the default synthetic logs, imports and caches
        sequential, seq_results, _ = timed(sweep(root / "sequential", args.timesteps, 100, 1))
        on_ray, ray_results, ray_init = timed(sweep(root / "ray", args.timesteps, 100, 2))
        empty_seq, _, _ = timed(sweep(root / "empty-sequential", 64, 0, 1))
        empty_ray, _, empty_init = timed(sweep(root / "empty-ray", 64, 0, 2))
    same = [a.metrics == b.metrics for a, b in zip(seq_results, ray_results, strict=True)]
    trial_seconds = [round(r.seconds, 1) for r in seq_results]
    print(f"4 trials of {args.timesteps} PPO steps (sequential trial times {trial_seconds} s)")
    print(f"  sequential in-process: {sequential:7.1f} s")
    print(
        f"  Ray Tune, 2 workers:   {on_ray:7.1f} s   ratio Ray / sequential {on_ray / sequential:.2f} (ray.init {ray_init:.1f} s)"
    )
    print(f"  identical per-trial metrics: {all(same)}")
    print("4 trials of 64 steps, no evaluation (what Ray costs when trials do almost nothing)")
    print(f"  sequential in-process: {empty_seq:7.1f} s")
    print(
        f"  Ray Tune, 2 workers:   {empty_ray:7.1f} s   overhead {empty_ray - empty_seq:+.1f} s (ray.init {empty_init:.1f} s)"
    )


if __name__ == "__main__":
    main()
