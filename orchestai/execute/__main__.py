"""``python -m orchestai.execute PLAN.json --router R --endpoints configs/endpoints.yaml --out LOGS.jsonl``.

Executes plans against OpenAI-compatible endpoints (see :mod:`orchestai.execute.executor`)
and writes the execution log (``LOGS.jsonl``, one recorded workflow per line, the log
schema) and the call journal beside it (``LOGS.calls.jsonl``, every call as it
finished). Ctrl-C or SIGTERM keeps both; ``--resume`` goes on from them.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from orchestai.cli import run_cli
from orchestai.configuration import load_yaml_config
from orchestai.errors import UserInputError
from orchestai.execute.config import DEFAULT_ENDPOINTS_CONFIG, ExecutionConfig
from orchestai.execute.executor import Executor, RunSettings
from orchestai.execute.plans import read_plans
from orchestai.execute.routers import ROUTER_HELP, load_router
from orchestai.world.world import World


def journal_path(log_path: Path) -> Path:
    """Where the call journal of an execution log lives: ``LOGS.calls.jsonl`` beside ``LOGS.jsonl``."""
    return log_path.with_name(log_path.stem + ".calls" + (log_path.suffix or ".jsonl"))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description="Execute plans against OpenAI-compatible endpoints; write recorded execution logs."
    )
    parser.add_argument(
        "plans", type=Path, help="plan file: what orchestai.plan writes, a JSON list of plans, or an execution log"
    )
    parser.add_argument("--router", required=True, help=f"what picks each call's model: {ROUTER_HELP}")
    parser.add_argument(
        "--endpoints", type=Path, default=DEFAULT_ENDPOINTS_CONFIG, help=f"endpoints YAML (default {DEFAULT_ENDPOINTS_CONFIG})"
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="the execution log to write (JSON lines); the call journal goes beside it"
    )
    parser.add_argument("--resume", action="store_true", help="go on from an interrupted run's log and journal (default: off)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing log and journal (default: refuse)")
    parser.add_argument(
        "--world",
        type=Path,
        default=None,
        help="world YAML whose task types and models the plans use (default: the bundled world)",
    )
    parser.add_argument("--max-retries", type=int, default=2, help="retries per subtask after a failed call (default 2)")
    parser.add_argument(
        "--budget-usd",
        type=float,
        default=None,
        help="stop starting calls once the run has spent this much (default: no budget)",
    )
    parser.add_argument(
        "--deadline-s",
        type=float,
        default=None,
        help="stop the run after this many seconds; unfinished workflows can be resumed (default: none)",
    )
    parser.add_argument("--max-active-workflows", type=int, default=64, help="workflows running at once (default 64)")
    args = parser.parse_args(argv)

    def command() -> int:
        journal = journal_path(args.out)
        if args.resume and args.overwrite:
            raise UserInputError("--resume and --overwrite contradict each other")
        existing = [p for p in (args.out, journal) if p.exists()]
        if existing and not (args.resume or args.overwrite):
            raise UserInputError(f"{existing[0]} exists: pass --resume to go on from it or --overwrite to replace it")
        if args.overwrite:
            for path in existing:
                path.unlink()
        settings = RunSettings(args.max_retries, args.budget_usd, args.deadline_s, args.max_active_workflows)
        settings.validate()
        world = World.load(args.world)
        config = load_yaml_config(ExecutionConfig, args.endpoints)
        plans = read_plans(args.plans, world)
        router = load_router(args.router, world)
        executor = Executor(world, router, config, args.out, journal, settings)
        try:
            summary = asyncio.run(executor.run(plans, resume=args.resume))
        except KeyboardInterrupt:
            done = executor.summary
            print(
                f"interrupted: {done.calls} calls recorded in {journal}, {done.finished} workflows in {args.out}; rerun with --resume to go on"
            )
            raise
        print(
            f"{summary.finished} of {summary.workflows} workflows finished ({summary.succeeded} succeeded), {summary.calls} calls "
            f"({summary.errors} errors, {summary.resumed_calls} from the journal), ${summary.cost_usd:.4f}, {summary.seconds:.1f}s"
        )
        if summary.deadline_reached:
            print(
                f"deadline of {args.deadline_s:g}s reached: {summary.workflows - summary.finished} workflows unfinished; --resume goes on"
            )
        print(f"wrote {args.out} and {journal}")
        return 0

    return run_cli(command)


if __name__ == "__main__":
    raise SystemExit(main())
