"""``python -m orchestai.execute.plans_cli --routerbench DIR --split test --out plans.json``: plans of RouterBench prompts.

One single-subtask plan per prompt (the prompt as it is, typed by its category), for
executing recorded prompts against the recorded-outcome backend.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from orchestai.cli import run_cli
from orchestai.envs.routerbench_data import ROUTERBENCH_DIR, SPLIT_SEED, TEST_FRACTION
from orchestai.execute.plans import routerbench_plans, write_plans
from orchestai.world.world import World


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Write execution plans of RouterBench prompts (one prompt per plan).")
    parser.add_argument(
        "--routerbench",
        default=ROUTERBENCH_DIR,
        help=f"folder of RouterBench CSVs (default {ROUTERBENCH_DIR})",
    )
    parser.add_argument(
        "--split", choices=("train", "test", "all"), default="test", help="which prompts of the seeded split (default test)"
    )
    parser.add_argument(
        "--test-fraction", type=float, default=TEST_FRACTION, help=f"held-out share of the split (default {TEST_FRACTION})"
    )
    parser.add_argument("--split-seed", type=int, default=SPLIT_SEED, help=f"seed of the split (default {SPLIT_SEED})")
    parser.add_argument("--limit", type=int, default=None, help="at most this many prompts (default: all)")
    parser.add_argument("--out", type=Path, required=True, help="the plan file to write (JSON list)")
    args = parser.parse_args(argv)

    def command() -> int:
        plans = routerbench_plans(args.routerbench, World.load(), args.split, args.test_fraction, args.split_seed, args.limit)
        write_plans(args.out, plans)
        print(f"wrote {len(plans)} plans to {args.out}")
        return 0

    return run_cli(command)


if __name__ == "__main__":
    raise SystemExit(main())
