"""``python -m orchestai.phase1.train``: supervised pre-training of the PlannerModel.

Reads ``orchestai/configs/phase1.yaml`` (``--config``), applies flags (every config key is
a flag), trains on execution logs (or TaskBench-format plans with ``--format
taskbench``) with :class:`~orchestai.phase1.trainer.Phase1Trainer`, and writes the best
and last checkpoints and the metrics into ``--out-dir``.
"""

from __future__ import annotations

from orchestai.cli import run_cli
from orchestai.configuration import parse_config_args
from orchestai.phase1.config import DEFAULT_PHASE1_CONFIG, Phase1Config
from orchestai.phase1.trainer import Phase1Trainer


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    return run_cli(
        lambda: Phase1Trainer(
            parse_config_args(
                Phase1Config, DEFAULT_PHASE1_CONFIG, "Phase 1: supervised pre-training of the OrchestAI planner.", argv
            )
        ).run()
    )


if __name__ == "__main__":
    raise SystemExit(main())
