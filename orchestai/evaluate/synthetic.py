"""Every policy on the same held-out synthetic workflows and seeds: the library behind ``python -m orchestai.evaluate``.

The env kwargs (reward weights) default to the ones the PPO models were trained under,
read from the ``phase2_run.json`` that ``phase2.ppo`` writes beside each zip, so a model
trained with ``--success-bonus 4`` is scored under that bonus unless ``env_kwargs`` says
otherwise; models trained under different weights need explicit ``env_kwargs``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestai.agents.baselines import BASELINES
from orchestai.agents.rollouts import evaluate_policy, format_rows, summary_rows
from orchestai.configuration import ConfigError
from orchestai.evaluate.report import pareto_front, plot_cost_vs_success, write_csv
from orchestai.phase2.build import REWARD_KEYS
from orchestai.phase2.config import PHASE2_RUN_FILE
from orchestai.phase2.saved import load_trained_model
from orchestai.planner.checkpoint import load_planner
from orchestai.policies.routers import Phase1Router, Sb3Router
from orchestai.world.world import World


@dataclass(frozen=True)
class EvaluationRequest:
    """What to compare, on which workflows (``split``, ``episodes`` seeded from ``seed``), and where to write."""

    episodes: int = 500
    seed: int = 100_000
    split: str = "test"
    phase1: Sequence[Path] = ()
    ppo: Sequence[Path] = ()
    maskable_ppo: Sequence[Path] = ()
    world: Path | None = None
    out_dir: Path = Path("runs/evaluate")
    env_kwargs: dict[str, Any] | None = None
    baselines: Sequence[str] = field(default_factory=lambda: list(BASELINES))
    allow_pickle: bool = False


def trained_reward_kwargs(zips: Sequence[Path]) -> dict[str, Any]:
    """The reward kwargs the PPO models were trained under (from their ``phase2_run.json``); they must agree."""
    found: dict[str, dict[str, Any]] = {}
    for path in zips:
        run_file = Path(path).parent / PHASE2_RUN_FILE
        if run_file.exists():
            stored = json.loads(run_file.read_text(encoding="utf-8")).get("env_kwargs", {})
            found[str(path)] = {k: stored[k] for k in REWARD_KEYS if k in stored}
    distinct = {json.dumps(v, sort_keys=True) for v in found.values()}
    if len(distinct) > 1:
        detail = "; ".join(f"{p}: {v or 'world defaults'}" for p, v in found.items())
        raise ConfigError(
            "command line",
            "env_kwargs",
            f"the PPO models were trained under different reward weights ({detail}); pass --env-kwargs",
        )
    return next(iter(found.values())) if found else {}


def run_evaluation(request: EvaluationRequest, log: Any = print) -> list[dict[str, float | str]]:
    """Evaluate the baselines, Phase 1 planners and SB3 models; write the CSV and plot; return the summary rows."""
    env_kwargs: dict[str, Any] = {"workflow_split": request.split}
    if request.world:
        env_kwargs["world"] = str(request.world)
    # explicit env_kwargs win: models trained under other weights are then scored under these
    stored = trained_reward_kwargs([*request.ppo, *request.maskable_ppo]) if request.env_kwargs is None else {}
    env_kwargs.update(stored if request.env_kwargs is None else request.env_kwargs)
    if stored and request.env_kwargs is None:
        log(f"reward weights the PPO models were trained under: {stored}")
    policies: list[Any] = [BASELINES[name]() for name in request.baselines]
    world = World.load(request.world)
    for path in request.phase1:
        planner, _ = load_planner(path, world.names_signature())
        policies.append(Phase1Router(planner, f"phase1:{Path(path).stem}" if len(request.phase1) > 1 else "phase1"))
    for zip_path in request.ppo:
        model = load_trained_model(zip_path, masked=False, allow_pickle=request.allow_pickle)
        policies.append(Sb3Router(model, f"ppo:{Path(zip_path).parent.name}/{Path(zip_path).stem}"))
    for zip_path in request.maskable_ppo:
        model = load_trained_model(zip_path, masked=True, allow_pickle=request.allow_pickle)
        policies.append(Sb3Router(model, f"maskable:{Path(zip_path).parent.name}/{Path(zip_path).stem}", masked=True))
    results = [evaluate_policy(p, request.episodes, request.seed, **env_kwargs) for p in policies]
    rows = summary_rows(results)
    last = request.seed + request.episodes - 1
    log(f"{request.episodes} synthetic workflows ({request.split} split), seeds {request.seed}..{last}")
    log(format_rows(rows))
    log(f"Pareto front (cost vs success): {', '.join(pareto_front(rows))}")
    write_csv(rows, request.out_dir / "evaluation.csv")
    plot_cost_vs_success(rows, request.out_dir / "cost_vs_success.png", f"{request.episodes} held-out synthetic workflows")
    log(f"wrote {request.out_dir / 'evaluation.csv'} and {request.out_dir / 'cost_vs_success.png'}")
    return rows
