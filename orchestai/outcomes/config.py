"""Outcome-model configuration (``orchestai/configs/outcomes.yaml``); every key is also a flag."""

from __future__ import annotations

from dataclasses import dataclass

from orchestai.configuration import require
from orchestai.envs.routerbench_data import ROUTERBENCH_DIR, SPLIT_SEED, TEST_FRACTION
from orchestai.paths import CONFIG_DIR

DEFAULT_OUTCOMES_CONFIG = CONFIG_DIR / "outcomes.yaml"
OUTCOME_MODEL_FILE = "outcome_model.pt"
CALIBRATION_FILE = "calibration.json"
RELIABILITY_PLOT_FILE = "reliability.png"


@dataclass(frozen=True)
class OutcomeModelConfig:
    """How ``python -m orchestai.phase1.outcomes`` trains an outcome model on RouterBench's recorded outcomes."""

    data_dir: str = ROUTERBENCH_DIR
    test_dir: str | None = None
    test_fraction: float = TEST_FRACTION
    split_seed: int = SPLIT_SEED
    folds: int = 5
    hidden: int = 128
    input_dropout: float = 0.1
    dropout: float = 0.3
    epochs: int = 200
    patience: int = 20
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 1e-3
    calibration: str = "temperature"
    ece_bins: int = 10
    seed: int = 0
    num_threads: int = 1
    cache_dir: str = "runs/routing/cache"
    out_dir: str = "runs/outcomes"
    overwrite: bool = False

    def validate(self) -> None:
        """Check value ranges (raises ``ValueError("field: problem")``)."""
        require(0 < self.test_fraction < 1, "test_fraction", "must be within (0, 1)")
        require(self.folds >= 2, "folds", "must be >= 2")
        require(self.hidden >= 1, "hidden", "must be >= 1")
        require(0 <= self.input_dropout < 1 and 0 <= self.dropout < 1, "dropout", "dropouts must be within [0, 1)")
        require(self.epochs >= 1 and self.patience >= 1, "epochs", "epochs and patience must be >= 1")
        require(self.batch_size >= 1, "batch_size", "must be >= 1")
        require(self.learning_rate > 0 and self.weight_decay >= 0, "learning_rate", "must be > 0 (weight_decay >= 0)")
        require(self.calibration in ("temperature", "none"), "calibration", "must be temperature or none")
        require(self.ece_bins >= 2, "ece_bins", "must be >= 2")
        require(self.num_threads >= 1, "num_threads", "must be >= 1")
