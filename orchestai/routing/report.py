"""The routing report: learned and simple routers on held-out RouterBench prompts.

``python -m orchestai.evaluate --env orchestai/RouterBench-v0 [--data-dir DIR] ...``
splits the prompts (seeded, by prompt), traces each router's cost–quality curve over
a sweep of the cost weight and prints, per router: RouterBench's AIQ on the prompts of
the three data sets pooled and the mean of the per-data-set AIQs, the cost at which it
reaches 95% of the reference model's quality (as a fraction of the reference's cost),
and its quality at half the reference's cost. Writes ``routing.csv``,
``routing_curves.json`` and ``routing_curves.png`` to ``--out-dir``.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from orchestai.cli import run_cli
from orchestai.configuration import add_config_flags, apply_flags, load_yaml_config, yaml_key_comments
from orchestai.envs.embeddings import EMBEDDINGS_EXTRA_HINT, embeddings_available, sentence_embeddings
from orchestai.envs.prompt_features import CommonPrefixStripper, tfidf_features
from orchestai.envs.routerbench_data import RouterBenchData, load_routerbench_folder, split_prompts
from orchestai.routing.config import DEFAULT_ROUTING_CONFIG, RoutingConfig
from orchestai.routing.curves import aiq, cost_to_reach, hull_quality_at, non_decreasing_hull
from orchestai.routing.routers import DEFAULT_COST_WEIGHTS, dataset_best_router, knn_router, oracle_router
from orchestai.routing.table import OutcomeTable

Sweep = list[np.ndarray]  # the model chosen for every test prompt, one array per setting of the router


def router_sweeps(
    config: RoutingConfig, data: RouterBenchData, log: Callable[[str], Any] = print
) -> tuple[OutcomeTable, dict[str, Sweep]]:
    """The held-out table and every router's choices over its cost-weight sweep."""
    train, test = split_prompts(data.prompts, config.test_fraction, config.split_seed)
    train_table, test_table = OutcomeTable.of(train, data.models), OutcomeTable.of(test, data.models)
    stripper = CommonPrefixStripper().fit([p.prompt for p in train], [p.dataset for p in train])
    train_texts = stripper.transform([p.prompt for p in train], [p.dataset for p in train])
    test_texts = stripper.transform([p.prompt for p in test], [p.dataset for p in test])
    for dataset, prefix in stripper.prefixes.items():
        log(f"  {dataset}: stripped a common prefix of {len(prefix)} characters")
    weights = DEFAULT_COST_WEIGHTS
    sweeps: dict[str, Sweep] = {
        "zero (single models' hull)": [np.full(test_table.n_prompts, m) for m in range(len(data.models))],
    }
    best = dataset_best_router(train_table, test_table.datasets)
    sweeps["per-data-set best model"] = [best.choose(w) for w in weights]
    train_tfidf, test_tfidf = tfidf_features(train_texts, test_texts)
    knn = knn_router("knn-tfidf", train_tfidf, train_table, test_tfidf, config.knn_k)
    sweeps[f"kNN TF-IDF (k={config.knn_k})"] = [knn.choose(w) for w in weights]
    use_embeddings = config.embeddings == "yes" or (config.embeddings == "auto" and embeddings_available())
    if use_embeddings:
        started = time.perf_counter()
        train_vectors = sentence_embeddings(train_texts, config.cache_dir)
        test_vectors = sentence_embeddings(test_texts, config.cache_dir)
        log(f"  sentence embeddings (all-MiniLM-L6-v2) ready in {time.perf_counter() - started:.0f}s")
        knn_e = knn_router("knn-emb", train_vectors, train_table, test_vectors, config.knn_k)
        sweeps[f"kNN embeddings (k={config.knn_k})"] = [knn_e.choose(w) for w in weights]
    else:
        log(f"  kNN on embeddings skipped: {EMBEDDINGS_EXTRA_HINT}")
    if config.ppo_timesteps > 0:
        sweeps["PPO (PlannerPolicy)"] = ppo_router_sweep(config, data, test_table, log)
    oracle = oracle_router(test_table)
    sweeps["oracle (best model per prompt)"] = [oracle.choose(w) for w in weights]
    return test_table, sweeps


def ppo_router_sweep(
    config: RoutingConfig, data: RouterBenchData, test_table: OutcomeTable, log: Callable[[str], Any] = print
) -> Sweep:
    """Train one PPO router per configured cost weight; each one's greedy choices on the held-out prompts."""
    from orchestai.routing.ppo_router import greedy_choices, train_ppo_router

    sweep: Sweep = []
    for weight in config.ppo_cost_weights:
        started = time.perf_counter()
        model = train_ppo_router(config, data, weight)
        sweep.append(greedy_choices(model, config, data, weight))
        cost, quality = test_table.point(sweep[-1])
        log(
            f"  PPO router at cost weight {weight:g}: {config.ppo_timesteps} steps in {time.perf_counter() - started:.0f}s, held-out cost ${cost:.5f}, quality {quality:.3f}"
        )
    return sweep


def ppo_router_points(config: RoutingConfig, log: Callable[[str], Any] = print) -> list[tuple[float, float, float]]:
    """The PPO routers alone (what a sweep over ``ppo_cost_weights`` runs): ``(cost weight, held-out cost, quality)`` each.

    Cost is the mean USD per held-out prompt of the configured split, quality the mean
    recorded score of the chosen models.
    """
    data = load_routerbench_folder(config.data_dir)
    _, test = split_prompts(data.prompts, config.test_fraction, config.split_seed)
    test_table = OutcomeTable.of(test, data.models)
    points = []
    for weight, choices in zip(config.ppo_cost_weights, ppo_router_sweep(config, data, test_table, log), strict=True):
        cost, quality = test_table.point(choices)
        points.append((float(weight), float(cost), float(quality)))
    return points


def summarize(
    table: OutcomeTable, sweeps: dict[str, Sweep], reference_model: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per router: pooled AIQ, mean per-data-set AIQ, cost to 95% of the reference's quality, quality at 50% of its cost."""
    reference = table.model_index(reference_model)
    ref_cost, ref_quality = table.point(np.full(table.n_prompts, reference))
    pooled = {name: np.array([table.point(c) for c in choices]) for name, choices in sweeps.items()}
    pooled_aiq = aiq(pooled)
    per_dataset: dict[str, dict[str, float]] = {}
    for dataset in sorted(set(table.datasets)):
        rows = table.rows_of(dataset)
        per_dataset[dataset] = aiq(
            {name: np.array([table.point(c, rows) for c in choices]) for name, choices in sweeps.items()}
        )
    rows_out = []
    for name, points in pooled.items():
        hull = non_decreasing_hull(points)
        rows_out.append(
            {
                "router": name,
                "aiq_pooled": pooled_aiq[name],
                "aiq_mean_per_dataset": float(np.mean([per_dataset[d][name] for d in per_dataset])),
                **{f"aiq_{d}": per_dataset[d][name] for d in per_dataset},
                "cost_to_95pct_reference_quality": cost_to_reach(hull, 0.95 * ref_quality) / ref_cost,
                "quality_at_50pct_reference_cost": hull_quality_at(hull, 0.5 * ref_cost),
                "max_quality": float(hull[:, 1].max()),
            }
        )
    curves = {
        "reference": {"model": reference_model, "cost": ref_cost, "quality": ref_quality},
        "single_models": {m: table.point(np.full(table.n_prompts, k)) for k, m in enumerate(table.models)},
        "routers": {name: points.tolist() for name, points in pooled.items()},
    }
    return rows_out, curves


def format_routing_rows(rows: list[dict[str, Any]], reference_model: str) -> str:
    """The routing table as aligned text."""
    header = f"{'router':34} {'AIQ pooled':>10} {'AIQ mean/ds':>11} {'cost@95% ref':>12} {'q@50% cost':>10}"
    lines = [header, "-" * len(header)]
    for row in rows:
        reach = row["cost_to_95pct_reference_quality"]
        lines.append(
            f"{row['router']:34} {row['aiq_pooled']:10.4f} {row['aiq_mean_per_dataset']:11.4f} "
            f"{'never' if not np.isfinite(reach) else f'{reach:.1%}':>12} {row['quality_at_50pct_reference_cost']:10.4f}"
        )
    lines.append(f"cost@95% ref: cost to reach 95% of {reference_model}'s quality, as a fraction of its cost")
    return "\n".join(lines)


def plot_curves(curves: dict[str, Any], path: Path, title: str) -> None:
    """Each router's non-decreasing hull (pooled prompts) and the single models, cost on a log axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5.5))
    for name, points in curves["routers"].items():
        hull = non_decreasing_hull(points)
        axes.plot(hull[:, 0], hull[:, 1], marker=".", label=name)
    for model, (cost, quality) in curves["single_models"].items():
        axes.scatter([cost], [quality], color="black", s=14, zorder=3)
        axes.annotate(model.split("/")[-1], (cost, quality), fontsize=6, xytext=(3, -3), textcoords="offset points")
    axes.set_xscale("log")
    axes.set_xlabel("mean cost per prompt (USD, log scale)")
    axes.set_ylabel("mean quality (recorded score)")
    axes.set_title(title)
    axes.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_report(rows: list[dict[str, Any]], curves: dict[str, Any], out_dir: Path, title: str) -> None:
    """``routing.csv``, ``routing_curves.json`` and ``routing_curves.png``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "routing.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (out_dir / "routing_curves.json").write_text(json.dumps(curves, indent=1))
    plot_curves(curves, out_dir / "routing_curves.png", title)


def run(config: RoutingConfig, log: Callable[[str], Any] = print) -> int:
    """Build the report; returns the exit code."""
    data = load_routerbench_folder(config.data_dir)
    log(
        f"RouterBench: {len(data.prompts)} prompts of {', '.join(data.datasets)}; {len(data.skipped)} rows skipped (empty cells):"
    )
    for line in data.skipped:
        log(f"  skipped {line}")
    table, sweeps = router_sweeps(config, data, log)
    rows, curves = summarize(table, sweeps, config.reference_model)
    title = f"{table.n_prompts} held-out RouterBench prompts (split seed {config.split_seed})"
    log(title)
    log(format_routing_rows(rows, config.reference_model))
    reference = curves["reference"]
    log(f"reference {reference['model']}: cost ${reference['cost']:.5f} per prompt, quality {reference['quality']:.4f}")
    out_dir = Path(config.out_dir)
    write_report(rows, curves, out_dir, title)
    log(f"wrote {out_dir / 'routing.csv'}, {out_dir / 'routing_curves.json'} and {out_dir / 'routing_curves.png'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m orchestai.evaluate --env orchestai/RouterBench-v0``: the routing report."""
    parser = argparse.ArgumentParser(description="Routing report on held-out RouterBench prompts (recorded outcomes).")
    parser.add_argument(
        "--env",
        default="orchestai/RouterBench-v0",
        help="the replay env of recorded outcomes (default orchestai/RouterBench-v0)",
    )
    default_config = DEFAULT_ROUTING_CONFIG
    parser.add_argument("--config", type=Path, default=default_config, help=f"YAML configuration (default: {default_config})")
    add_config_flags(
        parser,
        RoutingConfig,
        defaults=load_yaml_config(RoutingConfig, default_config),
        comments=yaml_key_comments(default_config),
    )
    args = vars(parser.parse_args(argv))
    args.pop("env")
    return run_cli(lambda: run(apply_flags(load_yaml_config(RoutingConfig, args.pop("config")), args)))
