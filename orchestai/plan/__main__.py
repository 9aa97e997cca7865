"""``python -m orchestai.plan "instruction" --checkpoint PATH [--dot FILE]``: print a plan as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from orchestai.cli import run_cli
from orchestai.configuration import ConfigError
from orchestai.envs.embeddings import ENCODER_PRECISIONS
from orchestai.files import write_text_atomic
from orchestai.plan.planning import plan_instruction, plan_to_dot


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Plan an instruction with a trained OrchestAI planner.")
    parser.add_argument("instruction", help="the request to plan, in plain text")
    parser.add_argument("--checkpoint", type=Path, required=True, help="a Phase 1 or Phase 2 planner checkpoint (.pth)")
    parser.add_argument("--dot", type=Path, default=None, help="also write the DAG as a Graphviz DOT file")
    parser.add_argument(
        "--edge-threshold",
        type=float,
        default=0.5,
        help="keep dependency edges above this probability, within (0, 1) (default 0.5)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads per encoder pass; one request is fastest on one, with its clauses encoded beside it on a "
        "second thread (benchmarks/plan_speed.py --threads measures) (default 1)",
    )
    parser.add_argument(
        "--encoder-precision",
        choices=("auto", *ENCODER_PRECISIONS),
        default="auto",
        help="what the pretrained text encoder computes in; auto: bfloat16 only where a probe request encodes clearly "
        "faster in it on this CPU (measured at start-up), else float32 (default auto)",
    )
    args = parser.parse_args(argv)

    def command() -> int:
        if not args.instruction.strip():
            raise ConfigError("command line", "instruction", "must not be empty")
        if not 0.0 < args.edge_threshold < 1.0:
            raise ConfigError("command line", "edge_threshold", "must be within (0, 1)")
        if args.threads < 1:
            raise ConfigError("command line", "threads", "must be >= 1")
        import torch

        torch.set_num_threads(args.threads)
        plan = plan_instruction(
            args.instruction, args.checkpoint, edge_threshold=args.edge_threshold, encoder_precision=args.encoder_precision
        )
        print(json.dumps(plan, indent=2))
        if plan["familiarity"]["unfamiliar"]:
            reasons = "; ".join(plan["familiarity"]["reasons"])
            print(
                f"warning: this request looks unlike the planner's training requests ({reasons}): check the plan",
                file=sys.stderr,
            )
        if args.dot:
            write_text_atomic(args.dot, plan_to_dot(plan))
            print(f"wrote {args.dot}", file=sys.stderr)
        return 0

    return run_cli(command)


if __name__ == "__main__":
    raise SystemExit(main())
