"""The commands a sweep can run: each one's configuration class and its library function.

A trial of a sweep is one call of a command's library function (never a shell) with a
configuration built from the command's YAML and the trial's flags (config keys, as
every CLI flag is one), writing its outputs into the trial's folder. The function
returns the trial's metrics: numbers only, and nothing that depends on the machine's
speed (wall times are recorded beside them, not in them), so that one trial gives the
same metrics run alone, in a sequential sweep or on Ray.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from orchestai.cli import EXIT_INTERRUPTED
from orchestai.configuration import ConfigError, apply_flags, from_mapping, load_yaml_config
from orchestai.phase1.config import DEFAULT_PHASE1_CONFIG, Phase1Config
from orchestai.phase2.config import DEFAULT_PHASE2_CONFIG, Phase2Config
from orchestai.routing.config import DEFAULT_ROUTING_CONFIG, RoutingConfig

Metrics = dict[str, float]
Log = Callable[[str], Any]


class TrialInterrupted(KeyboardInterrupt):
    """The trial's command was interrupted (Ctrl-C or SIGTERM) and kept its last good outputs."""


class TrialFailed(RuntimeError):
    """The trial's command ended with a non-zero exit code (its log says why)."""


@dataclass(frozen=True)
class SweepCommand:
    """A command a sweep runs: how to build its configuration and run it into a folder."""

    name: str
    description: str
    default_config: Path | None
    build: Callable[[Path | None, dict[str, Any], Path], Any]  # (config file, flags, out dir) -> configuration
    run: Callable[[Any, Path, Log], Metrics]  # (configuration, out dir, log) -> metrics
    table_metrics: tuple[str, ...]  # the metrics the sweep's table shows (the CSV has all)


def _yaml_config(cls: type, default: Path) -> Callable[[Path | None, dict[str, Any], Path], Any]:
    def build(config_file: Path | None, flags: dict[str, Any], out_dir: Path) -> Any:
        source = config_file or default
        overrides = {**flags, "out_dir": str(out_dir)}
        if "overwrite" in {f.name for f in dataclasses.fields(cls)}:
            overrides["overwrite"] = True  # the sweep owns the trial's folder: a rerun replaces an unfinished trial
        try:
            return apply_flags(load_yaml_config(cls, source), _dotted(overrides), f"sweep flags over {source}")
        except KeyError as error:
            raise ConfigError(f"sweep flags over {source}", str(error.args[0]), "unknown key") from None

    return build


def _dotted(flags: dict[str, Any]) -> dict[str, Any]:
    """Nested mappings (``model: {d_model: 64}``) as dotted keys (``model.d_model``), as flags name them."""
    out: dict[str, Any] = {}
    for key, value in flags.items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in _dotted(value).items()})
        else:
            out[key] = value
    return out


def _numbers(values: dict[str, Any], prefix: str = "", skip: tuple[str, ...] = ()) -> Metrics:
    return {
        f"{prefix}{k}": float(v)
        for k, v in values.items()
        if k not in skip and isinstance(v, (int, float)) and not isinstance(v, bool)
    }


def _checked(code: int, command: str) -> None:
    if code == EXIT_INTERRUPTED:
        raise TrialInterrupted(f"{command} was interrupted")
    if code != 0:
        raise TrialFailed(f"{command} ended with exit code {code} (see the trial's log.txt)")


def _phase1(config: Any, out_dir: Path, log: Log) -> Metrics:
    from orchestai.phase1.trainer import Phase1Trainer

    _checked(Phase1Trainer(config, log=log).run(), "phase1.train")
    stored = json.loads(next(out_dir.glob("phase1_metrics_*.json")).read_text(encoding="utf-8"))
    best = next(row for row in stored["history"] if row["epoch"] == stored["best_epoch"])
    return {"best_epoch": float(stored["best_epoch"]), **_numbers(best, skip=("epoch", "seconds"))}


def _policy_rows(rows: list[dict[str, Any]]) -> Metrics:
    metrics: Metrics = {}
    for row in rows:
        metrics.update(_numbers(row, prefix=f"{row['policy']}.", skip=("episodes",)))
    return metrics


def _phase2(config: Any, out_dir: Path, log: Log) -> Metrics:
    from orchestai.phase2.trainer import train_phase2

    _checked(train_phase2(config, log=log), "phase2.ppo")
    evaluation = out_dir / "evaluation.json"
    rows = json.loads(evaluation.read_text(encoding="utf-8")) if evaluation.exists() else []
    monitor = json.loads((out_dir / "monitor.json").read_text(encoding="utf-8"))
    return {"monitor_stopped": float(monitor["stop_reason"] is not None), **_policy_rows(rows)}


def _routing_ppo(config: Any, out_dir: Path, log: Log) -> Metrics:
    from orchestai.files import write_json_atomic
    from orchestai.routing.report import ppo_router_points

    points = ppo_router_points(config, log)
    write_json_atomic(
        out_dir / "ppo_router_points.json", [dict(zip(("cost_weight", "cost_usd", "quality"), p, strict=True)) for p in points]
    )
    if len(points) == 1:  # a sweep over the cost weight: one router per trial
        return {"cost_usd": points[0][1], "quality": points[0][2]}
    return {
        f"{name}@{weight:g}": value
        for weight, cost, quality in points
        for name, value in (("cost_usd", cost), ("quality", quality))
    }


def _build_evaluation(config_file: Path | None, flags: dict[str, Any], out_dir: Path) -> Any:
    from orchestai.evaluate.synthetic import EvaluationRequest

    if config_file is not None:
        raise ConfigError("sweep", "config", "the evaluate command has no YAML configuration; give its keys under flags")
    return replace(from_mapping(EvaluationRequest, flags, "sweep flags of evaluate"), out_dir=out_dir)


def _evaluate(request: Any, out_dir: Path, log: Log) -> Metrics:
    from orchestai.evaluate.synthetic import run_evaluation

    return _policy_rows(run_evaluation(request, log))


COMMANDS: dict[str, SweepCommand] = {
    "phase1.train": SweepCommand(
        "phase1.train", "supervised planner training (orchestai.phase1.train)", DEFAULT_PHASE1_CONFIG,
        _yaml_config(Phase1Config, DEFAULT_PHASE1_CONFIG), _phase1,
        ("best_epoch", "val_total", "node_f1", "edge_f1", "model_accuracy"),
    ),
    "phase2.ppo": SweepCommand(
        "phase2.ppo", "PPO fine-tuning in orchestai/Workflow-v0 (orchestai.phase2.ppo)", DEFAULT_PHASE2_CONFIG,
        _yaml_config(Phase2Config, DEFAULT_PHASE2_CONFIG), _phase2,
        ("ppo.return", "ppo.return_ci95", "ppo.success", "ppo.cost_usd", "ppo.fraction_of_oracle_return"),
    ),
    "routing.ppo": SweepCommand(
        "routing.ppo", "the routing report's PPO routers on RouterBench's recorded outcomes", DEFAULT_ROUTING_CONFIG,
        _yaml_config(RoutingConfig, DEFAULT_ROUTING_CONFIG), _routing_ppo, (),
    ),
    "evaluate": SweepCommand(
        "evaluate", "evaluation on held-out synthetic workflows (orchestai.evaluate)", None,
        _build_evaluation, _evaluate, (),
    ),
}  # fmt: skip
COMMAND_NAMES = tuple(COMMANDS)
