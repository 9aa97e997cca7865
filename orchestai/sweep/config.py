"""Sweep configuration: one command, the flags every trial shares, and the grid and seeds over them.

A sweep file is YAML (see the bundled ones in ``orchestai/configs/sweeps/``)::

    command: phase2.ppo          # phase1.train | phase2.ppo | routing.ppo | evaluate
    flags: {timesteps: 20000}    # config keys of the command, the same for every trial
    grid: {masked: [false, true]}   # one trial per combination of these values ...
    seeds: [0, 1]                # ... and per seed (written to the config key seed_key)

or, to tune, a search space that Optuna's TPE sampler draws ``samples`` trials from,
``num_workers`` at a time, maximising or minimising one of the trials' metrics::

    search: {learning_rate: {low: 1.0e-4, high: 3.0e-3, log: true}, n_epochs: {choices: [2, 4, 8]}}
    samples: 12
    objective: ppo.return
    direction: maximize

Every key of :class:`SweepConfig` is also a flag of ``python -m orchestai.sweep`` where it
is a scalar (``--out-dir``, ``--num-workers``, ``--ray-address``, ``--cpus-per-trial``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestai.configuration import require
from orchestai.paths import CONFIG_DIR
from orchestai.sweep.commands import COMMAND_NAMES

BUNDLED_SWEEPS = CONFIG_DIR / "sweeps"
DEFAULT_SWEEP_ROOT = Path("runs/sweeps")
RESERVED_KEYS = ("out_dir", "overwrite", "resume")  # the sweep owns each trial's output folder
DIRECTIONS = ("maximize", "minimize")


@dataclass(frozen=True)
class SweepConfig:
    """What a sweep runs (``command`` over ``grid`` × ``seeds``) and where (sequentially, or on Ray)."""

    command: str = field(metadata={"choices": COMMAND_NAMES})
    name: str = "sweep"
    config: str | None = None
    flags: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=list)
    seed_key: str = "seed"
    metrics: list[str] = field(default_factory=list)
    search: dict[str, dict[str, Any]] = field(default_factory=dict)
    samples: int = 0
    objective: str | None = None
    direction: str = field(default="maximize", metadata={"choices": DIRECTIONS})
    search_seed: int = 0
    out_dir: str | None = None
    num_workers: int = 1
    ray_address: str | None = None
    cpus_per_trial: float = 1.0

    def validate(self) -> None:
        """Check value ranges (raises ``ValueError("field: problem")``)."""
        require(self.command in COMMAND_NAMES, "command", f"must be one of {', '.join(COMMAND_NAMES)}")
        require(bool(self.name) and "/" not in self.name, "name", "must be a non-empty name without '/'")
        for key, values in self.grid.items():
            require(isinstance(values, list) and len(values) > 0, f"grid.{key}", "must be a non-empty list of values")
            require(key not in self.flags, f"grid.{key}", "is also in flags: give it in one place")
        for key in RESERVED_KEYS:
            require(key not in self.flags and key not in self.grid, key, "is set by the sweep (each trial's own folder)")
        require(len(set(self.seeds)) == len(self.seeds), "seeds", "must not repeat")
        if self.seeds:
            require(
                self.seed_key not in self.flags and self.seed_key not in self.grid,
                "seed_key",
                f"{self.seed_key!r} is set by seeds; remove it from flags and grid",
            )
        require(self.num_workers >= 1, "num_workers", "must be >= 1")
        require(self.direction in DIRECTIONS, "direction", "must be maximize or minimize")
        if self.search:
            require(
                not self.grid and not self.seeds,
                "search",
                "cannot be combined with grid or seeds (give fixed values in flags)",
            )
            require(self.samples >= 1, "samples", "must be >= 1 with a search")
            require(bool(self.objective), "objective", "a search needs the metric to optimise")
            for key, spec in self.search.items():
                require(
                    key not in self.flags and key not in RESERVED_KEYS, f"search.{key}", "is also in flags or set by the sweep"
                )
                _check_space(key, spec)
        else:
            require(self.samples == 0, "samples", "needs a search space (search)")
        require(self.cpus_per_trial > 0, "cpus_per_trial", "must be > 0")

    @property
    def output_dir(self) -> Path:
        """Where the sweep writes: ``out_dir``, or ``runs/sweeps/<name>``."""
        return Path(self.out_dir) if self.out_dir else DEFAULT_SWEEP_ROOT / self.name


def _check_space(key: str, spec: dict[str, Any]) -> None:
    if "choices" in spec:
        require(set(spec) == {"choices"}, f"search.{key}", "choices take no other keys")
        require(
            isinstance(spec["choices"], list) and len(spec["choices"]) > 0, f"search.{key}.choices", "must be a non-empty list"
        )
        return
    require(
        set(spec) <= {"low", "high", "log"} and {"low", "high"} <= set(spec),
        f"search.{key}",
        "needs low and high (and optionally log), or choices",
    )
    low, high = spec["low"], spec["high"]
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
    require(numbers and low < high, f"search.{key}", "low and high must be numbers with low < high")
    require(isinstance(spec.get("log", False), bool), f"search.{key}.log", "must be true or false")
    require(not spec.get("log") or low > 0, f"search.{key}.low", "must be > 0 on a log scale")


def sweep_file(name_or_path: str) -> Path:
    """A sweep file: a path, or the name of a bundled sweep (``init_ablation`` → ``orchestai/configs/sweeps/init_ablation.yaml``)."""
    path = Path(name_or_path)
    if path.exists() or path.suffix in (".yaml", ".yml"):
        return path
    return BUNDLED_SWEEPS / f"{name_or_path}.yaml"


def bundled_sweeps() -> list[str]:
    """Names of the sweeps shipped with the package."""
    return sorted(p.stem for p in BUNDLED_SWEEPS.glob("*.yaml"))
