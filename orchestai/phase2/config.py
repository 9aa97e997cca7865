"""Phase 2 configuration (``orchestai/configs/phase2.yaml``); every key is also a flag of ``phase2.ppo``."""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestai.configuration import require
from orchestai.paths import CONFIG_DIR

DEFAULT_PHASE2_CONFIG = CONFIG_DIR / "phase2.yaml"
VEC_ENVS = ("dummy", "subproc")
LR_SCHEDULES = ("constant", "linear")
PHASE2_MODEL_FILE = "ppo_model.zip"
PHASE2_PLANNER_FILE = "phase2_planner.pth"  # beside ppo_model.zip: the fine-tuned planner (Phase 1 checkpoint format)
PHASE2_RUN_FILE = "phase2_run.json"  # beside ppo_model.zip: the configuration and env kwargs of the run


@dataclass(frozen=True)
class Phase2Config:
    """PPO fine-tuning of the planner in ``orchestai/Workflow-v0``."""

    init: str | None = None
    world: str | None = None
    timesteps: int = 200_000
    n_envs: int = 4
    vec_env: str = field(default="dummy", metadata={"choices": VEC_ENVS})
    masked: bool = False
    seed: int = 0
    learning_rate: float = 3e-4
    lr_schedule: str = field(default="linear", metadata={"choices": LR_SCHEDULES})
    n_steps: int = 512
    batch_size: int = 256
    n_epochs: int = 4
    gamma: float = 1.0
    gae_lambda: float = 0.8
    clip_range: float = 0.2
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    hidden: int = 64
    success_bonus: float | None = None
    cost_weight: float | None = None
    latency_weight: float | None = None
    monitor_every: int = 8192
    monitor_max_dag_loss: float = 0.05
    monitor_max_edge_f1_drop: float = 0.05
    monitor_patience: int = 2
    monitor_logs: int = 200
    aux_coef: float = 0.0
    aux_steps: int = 4
    aux_batch_size: int = 32
    eval_episodes: int = 500
    eval_seed: int = 100_000
    curve_every: int = 50_000
    curve_episodes: int = 200
    out_dir: str = "runs/phase2"
    progress: bool = True
    num_threads: int = 1
    overwrite: bool = False

    def validate(self) -> None:
        """Check value ranges (raises ``ValueError("field: problem")``)."""
        require(self.timesteps >= 1, "timesteps", "must be >= 1")
        require(self.n_envs >= 1, "n_envs", "must be >= 1")
        require(self.vec_env in VEC_ENVS, "vec_env", "must be dummy or subproc")
        require(self.learning_rate > 0, "learning_rate", "must be > 0")
        require(self.lr_schedule in LR_SCHEDULES, "lr_schedule", "must be constant or linear")
        require(
            self.n_steps >= 1 and self.batch_size >= 1 and self.n_epochs >= 1,
            "n_steps",
            "n_steps, batch_size, n_epochs must be >= 1",
        )
        require(0 < self.gamma <= 1, "gamma", "must be within (0, 1]")
        require(0 <= self.gae_lambda <= 1, "gae_lambda", "must be within [0, 1]")
        require(self.clip_range > 0, "clip_range", "must be > 0")
        require(self.ent_coef >= 0, "ent_coef", "must be >= 0")
        require(self.vf_coef >= 0, "vf_coef", "must be >= 0")
        require(self.hidden >= 1, "hidden", "must be >= 1")
        require(self.learning_rate <= 1.0, "learning_rate", "must be <= 1")
        for name in ("success_bonus", "cost_weight", "latency_weight"):
            value = getattr(self, name)
            # reward weights as large as 1e300 overflow the value head's float32 arithmetic into NaN
            require(value is None or 0 <= value <= 1e6, name, "must be within [0, 1e6] (null: the world's)")
        require(
            self.monitor_every >= 1 and self.monitor_patience >= 1,
            "monitor_every",
            "monitor_every and monitor_patience must be >= 1",
        )
        require(self.monitor_logs >= 1, "monitor_logs", "must be >= 1")
        require(self.aux_coef >= 0, "aux_coef", "must be >= 0 (0: no auxiliary planner loss)")
        require(self.aux_steps >= 1 and self.aux_batch_size >= 1, "aux_steps", "aux_steps and aux_batch_size must be >= 1")
        require(self.eval_episodes >= 0, "eval_episodes", "must be >= 0")
        require(self.curve_every >= 0, "curve_every", "must be >= 0 (0: no learning curve)")
        require(self.curve_episodes >= 1, "curve_episodes", "must be >= 1")
        require(self.num_threads >= 1, "num_threads", "must be >= 1")
