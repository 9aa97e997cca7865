"""``python -m orchestai.evaluate.planning --checkpoint PATH``: a trained planner against nearest-neighbour planners.

Rebuilds the Phase 1 run's data and seeded validation split from the configuration
stored in the checkpoint (``--data`` / ``--format`` override it: e.g. a planner trained
on UltraTool with ``--format taskbench``) and prints, for the planner and for
nearest-neighbour planners on bag-of-words and (with the ``orchestai[embeddings]``
extra) on all-MiniLM-L6-v2 sentence embeddings: node and link F1 as GNN4TaskPlan's
``evaluate.py`` defines them (per record, averaged over records; links as
source–target name pairs), TaskBench's pooled node and link F1, per-slot type accuracy
and exact-plan accuracy (same types in order and the same edges). ``--json PATH``
also writes the numbers.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from orchestai.cli import run_cli
from orchestai.configuration import from_mapping
from orchestai.data.examples import split_examples
from orchestai.envs.embeddings import EMBEDDINGS_EXTRA_HINT, embeddings_available, sentence_embeddings
from orchestai.files import write_json_atomic
from orchestai.phase1.config import DATA_FORMATS, Phase1Config
from orchestai.planner.checkpoint import CheckpointError, load_planner
from orchestai.planner.datasets import load_planner_data
from orchestai.planner.inference import predict_plans
from orchestai.planner.metrics import Plan, plan_metrics
from orchestai.planner.nearest_neighbour import NearestNeighbourPlanner, VectorNeighbourPlanner
from orchestai.planner.tensors import tensorize

COLUMNS = (
    ("node_f1_record", "node F1 (GNN4TaskPlan)"),
    ("edge_f1_record", "link F1 (GNN4TaskPlan)"),
    ("node_f1", "node F1 (pooled)"),
    ("edge_f1", "link F1 (pooled)"),
    ("type_accuracy", "type acc"),
    ("exact_plan", "exact plan"),
)


def compare_planners(
    checkpoint: str | Path, data: str | None = None, data_format: str | None = None, embeddings: str = "auto",
    cache_dir: str | Path | None = None, log: Any = print,
) -> dict[str, dict[str, float]]:  # fmt: skip
    """Metrics of the checkpoint's planner and the neighbour planners on the run's validation split."""
    model, stored = load_planner(checkpoint)
    settings = dict(stored.get("extra", {}).get("phase1_config", {}))
    if data is not None:
        settings["data"] = data
    if data_format is not None:
        settings["format"] = data_format
    config = from_mapping(Phase1Config, settings, f"{checkpoint}: phase1_config")
    loaded = load_planner_data(config.format, config.data, config.world, config.n_logs, config.skip_invalid)
    if loaded.vocabulary.type_names != model.vocabulary.type_names:
        raise CheckpointError(f"{checkpoint}: its task types differ from those of {loaded.source}")
    train, val = split_examples(loaded.examples, config.val_fraction, config.split_seed)
    log(f"{loaded.source}: {len(train)} train / {len(val)} held-out records (split seed {config.split_seed})")
    gold = [Plan(e.types, e.parents, e.models) for e in val]
    instructions = [e.instruction for e in val]
    names = loaded.vocabulary.type_names
    results = {
        "planner": plan_metrics(predict_plans(model, tensorize(val, loaded.vocabulary), config.edge_threshold), gold, names),
        "neighbour (bag of words)": plan_metrics(NearestNeighbourPlanner(train).plan(instructions), gold, names),
    }
    if embeddings == "yes" or (embeddings == "auto" and embeddings_available()):
        planner = VectorNeighbourPlanner(train, lambda texts: sentence_embeddings(texts, cache_dir))
        results["neighbour (MiniLM embeddings)"] = plan_metrics(planner.plan(instructions), gold, names)
    else:
        log(f"neighbour on embeddings skipped: {EMBEDDINGS_EXTRA_HINT}")
    return results


def format_table(results: dict[str, dict[str, float]]) -> str:
    """The comparison as aligned text."""
    header = f"{'planner':30}" + "".join(f" {title:>22}" for _, title in COLUMNS)
    lines = [header, "-" * len(header)]
    for name, metrics in results.items():
        lines.append(f"{name:30}" + "".join(f" {metrics[key]:22.4f}" for key, _ in COLUMNS))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description="Compare a trained planner with nearest-neighbour planners on held-out plans."
    )
    parser.add_argument("--checkpoint", type=Path, required=True, help="a Phase 1 planner checkpoint")
    parser.add_argument("--data", default=None, help="the plans file (default: the one the checkpoint was trained on)")
    parser.add_argument(
        "--format",
        default=None,
        choices=list(DATA_FORMATS),
        help="format of --data (default: the one the checkpoint was trained on)",
    )
    parser.add_argument(
        "--embeddings", default="auto", choices=["auto", "yes", "no"],
        help="the MiniLM-embedding neighbour: auto (when the embeddings extra is installed), yes, no (default auto)",
    )  # fmt: skip
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path("runs/planning/cache"),
        help="where sentence embeddings are cached (default runs/planning/cache)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the metrics here")
    args = parser.parse_args(argv)

    def command() -> int:
        results = compare_planners(args.checkpoint, args.data, args.format, args.embeddings, args.cache_dir)
        print(format_table(results))
        if args.json:
            write_json_atomic(args.json, results)
        return 0

    return run_cli(command)


if __name__ == "__main__":
    raise SystemExit(main())
