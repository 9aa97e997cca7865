"""``python -m orchestai.route "prompt" [...] --router PATH [--cost-weight X | --target-cost-fraction F]``.

Prints, per prompt, the chosen model and every model's predicted success probability
and cost. ``--target-cost-fraction`` first calibrates the cost weight on the router's
training prompts (``python -m orchestai.routing.calibrate``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from orchestai.cli import run_cli
from orchestai.envs.routerbench_data import load_routerbench_folder
from orchestai.envs.routerbench_world import ROUTERBENCH_ENV
from orchestai.routing.config import RoutingConfig
from orchestai.routing.router import RouteDecision, Router, calibrate_router

DEFAULT_COST_WEIGHT = ROUTERBENCH_ENV.cost_weight  # the replay env's default trade-off (orchestai/RouterBench-v0)


def format_decision(prompt: str, decision: RouteDecision) -> str:
    """One prompt's choice and the table of every model's predicted success and cost."""
    shown = prompt if len(prompt) <= 70 else prompt[:67] + "..."
    lines = [f"{shown!r} ({decision.dataset}) -> {decision.model} at cost weight {decision.cost_weight:g}"]
    for model in sorted(decision.success, key=lambda m: decision.cost[m]):
        utility = decision.success[model] - decision.cost_weight * decision.cost[model]
        mark = "*" if model == decision.model else " "
        lines.append(
            f" {mark} {model:34} P(success) {decision.success[model]:.3f}  cost ${decision.cost[model]:.6f}  utility {utility:+.4f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    defaults = RoutingConfig()
    parser = argparse.ArgumentParser(description="Route prompts to models with a saved outcome-model router.")
    parser.add_argument("prompts", nargs="+", help="the prompt texts")
    parser.add_argument(
        "--router",
        type=Path,
        required=True,
        help="an outcome-model checkpoint (outcome_model.pt, or a router the routing report saved)",
    )
    knob = parser.add_mutually_exclusive_group()
    knob.add_argument(
        "--cost-weight",
        type=float,
        default=None,
        help=f"1/USD traded against a point of success (default {DEFAULT_COST_WEIGHT:g})",
    )
    knob.add_argument(
        "--target-cost-fraction",
        type=float,
        default=None,
        help="calibrate the cost weight on the training prompts to this fraction of the reference model's cost",
    )
    parser.add_argument("--dataset", default=None, help="the prompts' data set (task type); default: read from each prompt")
    parser.add_argument(
        "--reference-model",
        default=defaults.reference_model,
        help=f"the cost reference of --target-cost-fraction (default {defaults.reference_model})",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="RouterBench CSVs for --target-cost-fraction (default: the folder the router was trained on)",
    )
    parser.add_argument("--json", action="store_true", help="print the decisions as JSON")
    args = parser.parse_args(argv)

    def command() -> int:
        router = Router.load(args.router)
        weight = DEFAULT_COST_WEIGHT if args.cost_weight is None else args.cost_weight
        if args.target_cost_fraction is not None:
            data = load_routerbench_folder(
                args.data_dir or router.metadata.get("split", {}).get("data_dir", defaults.data_dir)
            )
            weight = calibrate_router(
                router, data, args.reference_model, target_cost_fraction=args.target_cost_fraction
            ).cost_weight
        datasets = [args.dataset] * len(args.prompts) if args.dataset else None
        decisions = router.route(args.prompts, weight, datasets)
        if args.json:
            print(json.dumps([d.to_json() for d in decisions], indent=1))
        else:
            print("\n\n".join(format_decision(p, d) for p, d in zip(args.prompts, decisions, strict=True)))
        return 0

    return run_cli(command)


if __name__ == "__main__":
    raise SystemExit(main())
