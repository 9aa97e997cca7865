"""``python -m orchestai.data.validate PATH``: check an execution-log file.

Exits 0 and prints a one-line summary when every record is valid; otherwise prints the
first error (file, record, field) to stderr and exits 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from orchestai.cli import run_cli
from orchestai.logs.io import load_logs
from orchestai.logs.schema import LogValidationError
from orchestai.world.world import World


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Validate an OrchestAI execution-log file (JSON list or JSONL).")
    parser.add_argument("path", type=Path, help="an execution-log file: a JSON list or JSON Lines")
    parser.add_argument(
        "--world", type=Path, default=None, help="world YAML (default: the bundled orchestai/configs/world.yaml)"
    )
    args = parser.parse_args(argv)

    def command() -> int:
        world = World.load(args.world)
        try:
            loaded = load_logs(args.path, world)
        except LogValidationError as error:
            print(f"invalid: {error}", file=sys.stderr)
            return 1
        n_subtasks = sum(len(log.subtasks) for log in loaded.logs)
        print(f"{args.path}: {len(loaded.logs)} valid records, {n_subtasks} subtasks")
        return 0

    return run_cli(command)


if __name__ == "__main__":
    raise SystemExit(main())
