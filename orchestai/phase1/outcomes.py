"""``python -m orchestai.phase1.outcomes``: Phase 1 on recorded outcomes, an outcome model for routing.

Reads ``orchestai/configs/outcomes.yaml`` (``--config``), applies flags (every key is a
flag), trains a calibrated :class:`~orchestai.outcomes.model.OutcomeModel` on the
RouterBench training split and writes ``outcome_model.pt``, ``calibration.json`` and
``reliability.png`` into ``--out-dir``.
"""

from __future__ import annotations

from orchestai.cli import run_cli
from orchestai.configuration import parse_config_args
from orchestai.outcomes.config import DEFAULT_OUTCOMES_CONFIG, OutcomeModelConfig
from orchestai.outcomes.training import train_outcome_model


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""

    def command() -> int:
        config = parse_config_args(
            OutcomeModelConfig,
            DEFAULT_OUTCOMES_CONFIG,
            "Phase 1 on RouterBench's recorded outcomes: a calibrated outcome model.",
            argv,
        )
        train_outcome_model(config)
        return 0

    return run_cli(command)


if __name__ == "__main__":
    raise SystemExit(main())
