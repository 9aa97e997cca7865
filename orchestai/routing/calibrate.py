"""``python -m orchestai.routing.calibrate``: pick a router's cost weight for a target cost or strong-model share.

Like RouteLLM's threshold calibration: the target is met on the router's *training*
prompts, and the held-out prompts show what it gives on prompts it has not seen.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from orchestai.cli import run_cli
from orchestai.envs.routerbench_data import load_routerbench_folder
from orchestai.routing.config import RoutingConfig
from orchestai.routing.router import Router, calibrate_router


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    defaults = RoutingConfig()
    parser = argparse.ArgumentParser(
        description="Threshold calibration of an outcome-model router on RouterBench's recorded outcomes."
    )
    parser.add_argument(
        "--router",
        type=Path,
        required=True,
        help="an outcome-model checkpoint (outcome_model.pt, or a router the routing report saved)",
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--target-cost-fraction", type=float, help="mean cost at most this fraction of the reference model's (e.g. 0.2)"
    )
    target.add_argument(
        "--target-strong-share", type=float, help="at most this share of prompts to the strong model (e.g. 0.3)"
    )
    parser.add_argument(
        "--reference-model", default=defaults.reference_model, help=f"the cost reference (default {defaults.reference_model})"
    )
    parser.add_argument(
        "--strong-model",
        default=None,
        help="the model whose share --target-strong-share limits (default: the reference model)",
    )
    parser.add_argument("--data-dir", default=None, help="RouterBench CSVs (default: the folder the router was trained on)")
    parser.add_argument(
        "--cache-dir", default=defaults.cache_dir, help=f"where prompt embeddings are cached (default {defaults.cache_dir})"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)

    def command() -> int:
        router = Router.load(args.router, args.cache_dir)
        data = load_routerbench_folder(args.data_dir or router.metadata.get("split", {}).get("data_dir", defaults.data_dir))
        result = calibrate_router(
            router, data, args.reference_model, args.target_cost_fraction, args.target_strong_share, args.strong_model
        )
        if args.json:
            print(
                json.dumps(
                    {"cost_weight": result.cost_weight, "target": result.target, "train": result.train, "test": result.test},
                    indent=1,
                )
            )
            return 0
        print(f"cost weight {result.cost_weight:.6g} (1/USD): {result.target} on the training prompts")
        for name, stats in (("training", result.train), ("held-out", result.test)):
            print(
                f"  {name:9} cost ${stats['cost']:.6f} per prompt ({stats['cost_fraction']:.1%} of the reference's), "
                f"quality {stats['quality']:.4f} (reference {stats['reference_quality']:.4f}), strong model {stats['strong_share']:.1%} of prompts"
            )
        return 0

    return run_cli(command)


if __name__ == "__main__":
    raise SystemExit(main())
