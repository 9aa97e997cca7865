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
import dataclasses
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
from orchestai.envs.routerbench_data import RouterBenchData, load_routerbench_folder, train_test_prompts
from orchestai.outcomes.config import DEFAULT_OUTCOMES_CONFIG, OutcomeModelConfig
from orchestai.outcomes.training import train_outcome_model
from orchestai.routing.bootstrap import aiq_difference_intervals
from orchestai.routing.config import DEFAULT_ROUTING_CONFIG, RoutingConfig
from orchestai.routing.curves import aiq, cost_to_reach, hull_quality_at, non_decreasing_hull
from orchestai.routing.router import Router
from orchestai.routing.routers import DEFAULT_COST_WEIGHTS, dataset_best_router, knn_router, oracle_router
from orchestai.routing.table import OutcomeTable

DATASET_BEST = "per-data-set best model"  # the baseline of the AIQ intervals
ROUTERS_DIR = "routers"
OUTCOME_ROUTER_DIR = "outcome"
CONDITIONED_ROUTER_FILE = "ppo_cost_conditioned.pt"
Sweep = list[np.ndarray]  # the model chosen for every test prompt, one array per setting of the router


def router_sweeps(
    config: RoutingConfig,
    data: RouterBenchData,
    log: Callable[[str], Any] = print,
    timing: dict[str, float] | None = None,
    test_data: RouterBenchData | None = None,
) -> tuple[OutcomeTable, dict[str, Sweep]]:
    """The held-out table and every router's choices over its cost-weight sweep (training wall times into ``timing``).

    The learned routers are saved under ``out_dir/routers``: each PPO router's zip, the
    outcome model (``outcome/outcome_model.pt``) and the cost-conditioned PPO router
    (``ppo_cost_conditioned.pt``, an outcome-model checkpoint, and its PPO zip).
    """
    timing = timing if timing is not None else {}
    train, test = train_test_prompts(data, config.test_fraction, config.split_seed, test_data)
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
    sweeps[DATASET_BEST] = [best.choose(w) for w in weights]
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
        log(f"  kNN on embeddings, outcome model and cost-conditioned PPO skipped: {EMBEDDINGS_EXTRA_HINT}")
    routers_dir = Path(config.out_dir) / ROUTERS_DIR
    if config.ppo_timesteps > 0:
        started = time.perf_counter()
        sweeps["PPO (PlannerPolicy, one run per cost weight)"] = ppo_router_sweep(
            config, data, test_table, log, routers_dir, test_data
        )
        timing["ppo_per_cost_weight_seconds"] = time.perf_counter() - started
    if use_embeddings:
        outcome_path = (
            Path(config.outcome_model)
            if config.outcome_model
            else train_report_outcome_model(config, data, routers_dir, log, test_data)
        )
        start = Router.load(outcome_path, config.cache_dir).estimate_router("outcome", test)
        sweeps["outcome model (expected utility)"] = [start.choose(w) for w in weights]
        if config.conditioned_ppo_timesteps > 0:
            from orchestai.routing.conditioned_ppo import train_conditioned_ppo

            path, seconds = train_conditioned_ppo(
                config, data, outcome_path, routers_dir / CONDITIONED_ROUTER_FILE, log, test_data
            )
            timing["conditioned_ppo_seconds"] = seconds
            tuned = Router.load(path, config.cache_dir).estimate_router("ppo", test)
            sweeps["PPO, cost-conditioned (one run, from the outcome model)"] = [tuned.choose(w) for w in weights]
    oracle = oracle_router(test_table)
    sweeps["oracle (best model per prompt, cheapest among ties)"] = [oracle.choose(0.0)]
    sweeps["oracle, swept over the cost weight"] = [oracle.choose(w) for w in weights]
    return test_table, sweeps


def train_report_outcome_model(
    config: RoutingConfig,
    data: RouterBenchData,
    routers_dir: Path,
    log: Callable[[str], Any],
    test_data: RouterBenchData | None = None,
) -> Path:
    """The outcome model of this report's split (``orchestai/configs/outcomes.yaml``'s settings), saved under ``routers_dir``."""
    settings = dataclasses.replace(
        load_yaml_config(OutcomeModelConfig, DEFAULT_OUTCOMES_CONFIG),
        data_dir=config.data_dir,
        test_dir=config.test_dir,
        test_fraction=config.test_fraction,
        split_seed=config.split_seed,
        cache_dir=config.cache_dir,
        num_threads=config.num_threads,
        seed=config.seed,
        out_dir=str(routers_dir / OUTCOME_ROUTER_DIR),
        overwrite=True,
    )
    result = train_outcome_model(settings, lambda line: log(f"  {line}"), data, test_data)
    return Path(result["checkpoint"])


def ppo_router_sweep(
    config: RoutingConfig,
    data: RouterBenchData,
    test_table: OutcomeTable,
    log: Callable[[str], Any] = print,
    save_dir: Path | None = None,
    test_data: RouterBenchData | None = None,
) -> Sweep:
    """Train one PPO router per configured cost weight; each one's greedy choices on the held-out prompts (zips saved in ``save_dir``)."""
    from orchestai.routing.ppo_router import greedy_choices, train_ppo_router

    sweep: Sweep = []
    for weight in config.ppo_cost_weights:
        started = time.perf_counter()
        model = train_ppo_router(config, data, weight, test_data)
        sweep.append(greedy_choices(model, config, data, weight, test_data))
        if save_dir is not None:
            save_dir.mkdir(parents=True, exist_ok=True)
            model.save(save_dir / f"ppo_cost_weight_{weight:g}.zip")
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
    test_data = load_routerbench_folder(config.test_dir) if config.test_dir else None
    _, test = train_test_prompts(data, config.test_fraction, config.split_seed, test_data)
    test_table = OutcomeTable.of(test, data.models)
    points = []
    for weight, choices in zip(
        config.ppo_cost_weights, ppo_router_sweep(config, data, test_table, log, test_data=test_data), strict=True
    ):
        cost, quality = test_table.point(choices)
        points.append((float(weight), float(cost), float(quality)))
    return points


def summarize(
    table: OutcomeTable, sweeps: dict[str, Sweep], reference_model: str, resamples: int = 200
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per router: pooled AIQ, mean per-data-set AIQ, cost to 95% of the reference's quality, quality at 50% of its cost.

    With the per-data-set best model among the routers (and ``resamples > 0``), also the
    95% paired-bootstrap interval of each router's pooled AIQ minus that baseline's.
    """
    intervals = (
        aiq_difference_intervals(table, sweeps, DATASET_BEST, resamples) if DATASET_BEST in sweeps and resamples > 0 else {}
    )
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
                "aiq_minus_dataset_best_low": intervals.get(name, (float("nan"),) * 2)[0],
                "aiq_minus_dataset_best_high": intervals.get(name, (float("nan"),) * 2)[1],
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
    header = f"{'router':56} {'AIQ pooled':>10} {'AIQ mean/ds':>11} {'cost@95% ref':>12} {'q@50% cost':>10} {'AIQ - ds best, 95%':>20}"
    lines = [header, "-" * len(header)]
    for row in rows:
        reach = row["cost_to_95pct_reference_quality"]
        low, high = row["aiq_minus_dataset_best_low"], row["aiq_minus_dataset_best_high"]
        interval = f"[{low:+.4f}, {high:+.4f}]" if np.isfinite(low) else ""
        lines.append(
            f"{row['router']:56} {row['aiq_pooled']:10.4f} {row['aiq_mean_per_dataset']:11.4f} "
            f"{'never' if not np.isfinite(reach) else f'{reach:.1%}':>12} {row['quality_at_50pct_reference_cost']:10.4f} {interval:>20}"
        )
    lines.append(f"cost@95% ref: cost to reach 95% of {reference_model}'s quality, as a fraction of its cost")
    lines.append(
        f"AIQ - ds best: 95% paired-bootstrap interval (prompts resampled) of the pooled AIQ minus the {DATASET_BEST}'s"
    )
    return "\n".join(lines)


def plot_curves(curves: dict[str, Any], path: Path, title: str) -> None:
    """Each router's non-decreasing hull (pooled prompts) and the single models, cost on a log axis.

    Reference lines mark 95% of the reference model's quality and half its cost; the
    legend sits beside the axes (it covered points inside them) and the single models'
    labels alternate above and below their points.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(10, 5.5))
    for name, points in curves["routers"].items():
        hull = non_decreasing_hull(points)
        if len(hull) == 1:
            axes.scatter(hull[:, 0], hull[:, 1], marker="*", s=80, zorder=4, label=name)
        else:
            axes.plot(hull[:, 0], hull[:, 1], marker=".", markersize=4, linewidth=1.2, label=name)
    singles = sorted(curves["single_models"].items(), key=lambda item: item[1][0])
    for k, (model, (cost, quality)) in enumerate(singles):
        axes.scatter([cost], [quality], color="black", s=14, zorder=3)
        axes.annotate(
            model.split("/")[-1], (cost, quality), fontsize=6, xytext=(4, 6 if k % 2 else -9), textcoords="offset points"
        )
    reference = curves["reference"]
    axes.axhline(0.95 * reference["quality"], color="grey", linestyle="--", linewidth=0.8)
    axes.axvline(0.5 * reference["cost"], color="grey", linestyle=":", linewidth=0.8)
    axes.set_xscale("log")
    axes.annotate(
        f"95% of {reference['model']}'s quality", (0.01, 0.95 * reference["quality"]),
        xycoords=("axes fraction", "data"), fontsize=6, xytext=(0, 2), textcoords="offset points",
    )  # fmt: skip
    axes.annotate(
        "50% of its cost", (0.5 * reference["cost"], 0.01), xycoords=("data", "axes fraction"), fontsize=6,
        xytext=(3, 0), textcoords="offset points",
    )  # fmt: skip
    axes.set_xlabel("mean cost per prompt (USD, log scale)")
    axes.set_ylabel("mean quality (recorded score)")
    axes.set_title(title)
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
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
    test_data = load_routerbench_folder(config.test_dir) if config.test_dir else None
    if test_data is not None:
        log(f"test folder {config.test_dir}: {len(test_data.prompts)} prompts; every row of {config.data_dir} trains")
    timing: dict[str, float] = {}
    table, sweeps = router_sweeps(config, data, log, timing, test_data)
    rows, curves = summarize(table, sweeps, config.reference_model)
    curves["training_seconds"] = timing
    if timing:
        log(
            "training wall time: "
            + ", ".join(f"{k.removesuffix('_seconds').replace('_', ' ')} {v:.0f}s" for k, v in timing.items())
        )
    held_out = f"test folder {config.test_dir}" if config.test_dir else f"split seed {config.split_seed}"
    title = f"{table.n_prompts} held-out RouterBench prompts ({held_out})"
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
