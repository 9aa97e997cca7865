"""``python -m orchestai.phase2.ppo --init checkpoints/phase1_best_model_1000.pth``: PPO fine-tuning.

Reads ``orchestai/configs/phase2.yaml`` (``--config``), applies flags (every config key is
a flag) and runs :func:`~orchestai.phase2.trainer.train_phase2`.
"""

from __future__ import annotations

from orchestai.cli import run_cli
from orchestai.configuration import parse_config_args
from orchestai.phase2.config import DEFAULT_PHASE2_CONFIG, Phase2Config
from orchestai.phase2.trainer import train_phase2


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    return run_cli(
        lambda: train_phase2(
            parse_config_args(Phase2Config, DEFAULT_PHASE2_CONFIG, "Phase 2: PPO fine-tuning of the OrchestAI planner.", argv)
        )
    )


if __name__ == "__main__":
    raise SystemExit(main())
