"""Does PPO add anything over the outcome model it starts from? The cost-conditioned router over training seeds.

Trains the cost-conditioned PPO router (``orchestai.routing.conditioned_ppo``) from one
outcome model with several seeds and prints, on the held-out prompts of the routing
report's split, each one's pooled AIQ and cost to 95% of GPT-4's quality next to the
outcome model's own (its step 0) and the per-data-set best model's, all compared on the
same cost range (the zero router's, as in the report), with each run's wall time.

    python benchmarks/conditioned_ppo_seeds.py --outcome-model runs/routing/routers/outcome/outcome_model.pt --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import numpy as np

from orchestai.envs.routerbench_data import load_routerbench_folder, split_prompts
from orchestai.routing.conditioned_ppo import train_conditioned_ppo
from orchestai.routing.config import RoutingConfig
from orchestai.routing.report import DATASET_BEST, summarize
from orchestai.routing.router import Router
from orchestai.routing.routers import DEFAULT_COST_WEIGHTS, dataset_best_router
from orchestai.routing.table import OutcomeTable


def main() -> None:
    """Train, evaluate and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outcome-model", type=Path, required=True, help="an outcome model of the report's split")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="PPO seeds (default 0 1 2)")
    parser.add_argument(
        "--timesteps",
        type=int,
        default=RoutingConfig().conditioned_ppo_timesteps,
        help="PPO steps per run (default: routing.yaml's)",
    )
    parser.add_argument(
        "--data-dir", default=RoutingConfig().data_dir, help="RouterBench CSVs (default ../shared/data/routerbench)"
    )
    parser.add_argument("--cache-dir", default=RoutingConfig().cache_dir, help="embedding cache (default runs/routing/cache)")
    args = parser.parse_args()
    base = RoutingConfig(data_dir=args.data_dir, cache_dir=args.cache_dir, conditioned_ppo_timesteps=args.timesteps)
    data = load_routerbench_folder(base.data_dir)
    train, test = split_prompts(data.prompts, base.test_fraction, base.split_seed)
    train_table, table = OutcomeTable.of(train, data.models), OutcomeTable.of(test, data.models)
    weights = DEFAULT_COST_WEIGHTS
    sweeps = {
        "zero (single models' hull)": [np.full(table.n_prompts, m) for m in range(len(data.models))],
        DATASET_BEST: [dataset_best_router(train_table, table.datasets).choose(w) for w in weights],
        "outcome model (PPO step 0)": [
            Router.load(args.outcome_model, base.cache_dir).estimate_router("start", test).choose(w) for w in weights
        ],
    }
    seconds = {}
    with tempfile.TemporaryDirectory() as folder:
        for seed in args.seeds:
            config = dataclasses.replace(base, seed=seed)
            path, seconds[seed] = train_conditioned_ppo(config, data, args.outcome_model, Path(folder) / f"seed{seed}.pt")
            sweeps[f"cost-conditioned PPO, seed {seed}"] = [
                Router.load(path, base.cache_dir).estimate_router("ppo", test).choose(w) for w in weights
            ]
    rows, _ = summarize(table, sweeps, base.reference_model)
    print(f"{'router':36} {'AIQ pooled':>10} {'cost@95%':>9} {'AIQ - ds best, 95%':>20} {'train s':>8}")
    for row in rows:
        seed = int(row["router"].rsplit(" ", 1)[-1]) if row["router"].startswith("cost-conditioned") else None
        interval = f"[{row['aiq_minus_dataset_best_low']:+.4f}, {row['aiq_minus_dataset_best_high']:+.4f}]"
        train_seconds = f"{seconds[seed]:.0f}" if seed is not None else ""
        print(
            f"{row['router']:36} {row['aiq_pooled']:10.4f} {row['cost_to_95pct_reference_quality']:9.1%} {interval:>20} {train_seconds:>8}"
        )


if __name__ == "__main__":
    main()
