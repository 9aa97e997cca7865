"""Phase 1 configuration (``orchestai/configs/phase1.yaml``); every key is also a flag of ``phase1.train``."""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestai.configuration import require
from orchestai.data.compositions import COMPOSE_LINKS
from orchestai.data.examples import SPLITS
from orchestai.paths import CONFIG_DIR
from orchestai.planner.datasets import DATA_FORMATS
from orchestai.planner.model import PlannerConfig

DEFAULT_PHASE1_CONFIG = CONFIG_DIR / "phase1.yaml"
# what a run writes into out_dir, for N logs (format with n=N)
BEST_MODEL_NAME = "phase1_best_model_{n}.pth"
LAST_MODEL_NAME = "phase1_last_model_{n}.pth"
METRICS_STEM = "phase1_metrics_{n}"


@dataclass(frozen=True)
class Phase1Config:
    """Data, optimisation and output settings of supervised planner training."""

    data: str | None = None
    format: str = field(default="orchestai", metadata={"choices": DATA_FORMATS})
    world: str | None = None
    n_logs: int = 1000
    skip_invalid: bool = False
    val_data: str | None = None
    split: str = field(default="by_template", metadata={"choices": SPLITS})
    val_fraction: float = 0.2
    early_stop_fraction: float = 0.0
    held_out_type_fraction: float = 0.0
    compose_fraction: float = 0.0
    # which pairs compose: "graph", those whose joining link the catalogue's graph allows;
    # "any", every pair, its second part standing apart where the graph has no link
    compose_links: str = field(default="graph", metadata={"choices": COMPOSE_LINKS})
    # share of synthetic step compositions: a training request and one step clause of
    # another record's task_steps, the step standing apart where the graph has no link
    compose_step_fraction: float = 0.0
    text_cache_dir: str | None = None
    split_seed: int = 0
    seed: int = 0
    epochs: int = 50
    batch_size: int = 32
    learning_rate: float = 1e-3
    finetune_learning_rate: float = 3e-5
    weight_decay: float = 0.0
    # validate and keep an exponential moving average of the weights, updated after each
    # batch with this decay (0: the trained weights themselves)
    ema_decay: float = 0.0
    grad_clip: float = 1.0
    patience: int = 10
    edge_threshold: float = 0.5
    lambda_type: float = 1.0
    lambda_model: float = 1.0
    lambda_edge: float = 5.0
    lambda_dag: float = 0.1
    lambda_decision: float = 0.25
    out_dir: str = "checkpoints"
    resume: str | None = None
    overwrite: bool = False
    num_threads: int = 2
    deterministic: bool = True
    progress: bool = True
    model: PlannerConfig = field(default_factory=PlannerConfig)

    def validate(self) -> None:
        """Check value ranges (raises ``ValueError("field: problem")``)."""
        require(self.format in DATA_FORMATS, "format", f"must be one of {DATA_FORMATS}")
        require(self.n_logs >= 2, "n_logs", "must be >= 2")
        require(self.split in SPLITS, "split", f"must be one of {', '.join(SPLITS)}")
        require(0.0 < self.val_fraction < 1.0, "val_fraction", "must be within (0, 1)")
        require(0.0 <= self.held_out_type_fraction < 1.0, "held_out_type_fraction", "must be within [0, 1)")
        require(0.0 <= self.early_stop_fraction < 1.0, "early_stop_fraction", "must be within [0, 1)")
        require(0.0 <= self.compose_fraction <= 4.0, "compose_fraction", "must be within [0, 4]")
        require(0.0 <= self.compose_step_fraction <= 4.0, "compose_step_fraction", "must be within [0, 4]")
        require(self.epochs >= 1, "epochs", "must be >= 1")
        require(self.batch_size >= 1, "batch_size", "must be >= 1")
        require(self.learning_rate > 0, "learning_rate", "must be > 0")
        require(self.finetune_learning_rate > 0, "finetune_learning_rate", "must be > 0")
        require(self.weight_decay >= 0, "weight_decay", "must be >= 0")
        require(0.0 <= self.ema_decay < 1.0, "ema_decay", "must be within [0, 1) (0: no moving average)")
        require(self.grad_clip > 0, "grad_clip", "must be > 0")
        require(self.patience >= 1, "patience", "must be >= 1")
        require(0.0 < self.edge_threshold < 1.0, "edge_threshold", "must be within (0, 1)")
        for name in ("lambda_type", "lambda_model", "lambda_edge", "lambda_dag", "lambda_decision"):
            require(getattr(self, name) >= 0, name, "must be >= 0")
        require(self.num_threads >= 1, "num_threads", "must be >= 1")
        require(self.compose_links in COMPOSE_LINKS, "compose_links", f"must be one of {', '.join(COMPOSE_LINKS)}")
