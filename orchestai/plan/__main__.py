"""``python -m orchestai.plan "instruction" --checkpoint PATH [--dot FILE]``: print a plan as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from orchestai.plan.planning import plan_instruction, plan_to_dot
from orchestai.planner.checkpoint import CheckpointError


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Plan an instruction with a trained OrchestAI planner.")
    parser.add_argument("instruction")
    parser.add_argument("--checkpoint", type=Path, required=True, help="a Phase 1 or Phase 2 planner checkpoint (.pth)")
    parser.add_argument("--dot", type=Path, default=None, help="also write the DAG as a Graphviz DOT file")
    parser.add_argument("--edge-threshold", type=float, default=0.5)
    args = parser.parse_args(argv)
    try:
        plan = plan_instruction(args.instruction, args.checkpoint, edge_threshold=args.edge_threshold)
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(plan, indent=2))
    if args.dot:
        args.dot.write_text(plan_to_dot(plan), encoding="utf-8")
        print(f"wrote {args.dot}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
