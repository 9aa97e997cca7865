"""Clause coverage's thresholds, scored on the part of the training split Phase 1 stops early on (never the held-out split).

For a planner trained on a TaskBench-format file with ``early_stop_fraction`` (the
README's UltraTool recipe), plans the early-stopping records, synthetic compositions of
two of them and of one of them and a step clause of another, once, and prints node F1,
link F1 (GNN4TaskPlan, per record), exact plans and length accuracy without coverage and
with each setting of ``coverage_similarity`` x ``coverage_share`` x
``coverage_description_similarity`` (the coverage built from the other training records,
as Phase 1 builds it). This is how the defaults in ``orchestai/configs/phase1.yaml`` were
chosen; the held-out records are scored by ``python -m orchestai.evaluate.planning``.

    python benchmarks/coverage_thresholds.py --checkpoint runs/ultratool/phase1_best_model_3027.pth
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
from pathlib import Path

from orchestai.configuration import from_mapping
from orchestai.data.compositions import composed_examples, step_compositions
from orchestai.data.examples import early_stopping_split, plan_split_indices
from orchestai.evaluate.planning import COMPOSED_FRACTION
from orchestai.paths import data_dir
from orchestai.phase1.config import Phase1Config
from orchestai.planner.checkpoint import load_planner
from orchestai.planner.datasets import load_planner_data
from orchestai.planner.inference import predict_plans
from orchestai.planner.metrics import Plan, plan_metrics
from orchestai.planner.tensors import tensorize
from orchestai.planner.text_inputs import builder_for_checkpoint

SIMILARITIES = (0.6, 0.7, 0.75, 0.8)
SHARES = (0.5, 0.75)
DESCRIPTION_SIMILARITIES = (0.8, 0.75, 0.7, 0.65)
COLUMNS = ("node_f1_record", "edge_f1_record", "exact_plan", "length_accuracy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="a planner checkpoint of the README's UltraTool recipe")
    args = parser.parse_args()
    model, stored = load_planner(args.checkpoint)
    config = from_mapping(Phase1Config, stored["extra"]["phase1_config"], f"{args.checkpoint}: phase1_config")
    if not config.early_stop_fraction:
        raise SystemExit(f"error: {args.checkpoint}: trained without early_stop_fraction, so it has no early-stopping records")
    data = load_planner_data(config.format, config.data)
    train_index, _ = plan_split_indices(data.examples, config.split, config.val_fraction, config.split_seed)
    kept, stop = early_stopping_split(train_index, config.early_stop_fraction, config.split_seed)
    train, stopping = [data.examples[i] for i in kept], [data.examples[i] for i in stop]
    allowed = model.vocabulary.allowed_links() or None
    groups = {
        "early-stopping records": stopping,
        "compositions of two (synthetic)": composed_examples(stopping, COMPOSED_FRACTION, config.split_seed, allowed, "any")[
            0
        ],
        "a record and a step clause (synthetic)": step_compositions(stopping, COMPOSED_FRACTION, config.split_seed, allowed)[
            0
        ],
    }
    builder = builder_for_checkpoint(model, stored, config.text_cache_dir or data_dir() / "cache")
    built = builder.build_coverage(train)  # as Phase 1 builds it, whatever the checkpoint holds
    names = model.vocabulary.type_names
    print(f"{args.checkpoint}: {len(train)} training records give the step clauses; scored on:")
    for group, examples in groups.items():
        texts = [e.instruction for e in examples]
        gold = [Plan(e.types, e.parents, e.models) for e in examples]
        planned = predict_plans(model, tensorize(examples, model.vocabulary, builder), config.edge_threshold)
        metrics = plan_metrics(planned, gold, names)
        print(f"\n{group} ({len(examples)}): without coverage " + " ".join(f"{metrics[c]:.3f}" for c in COLUMNS))
        print(f"  similarity share description | {' '.join(COLUMNS)}")
        for similarity, share, description in itertools.product(SIMILARITIES, SHARES, DESCRIPTION_SIMILARITIES):
            thresholds = dataclasses.replace(
                model.config,
                coverage_similarity=similarity,
                coverage_share=share,
                coverage_description_similarity=description,
            )
            builder.coverage = dataclasses.replace(built, config=thresholds)
            metrics = plan_metrics(builder.covered(planned, texts), gold, names)
            print(f"  {similarity:10.2f} {share:5.2f} {description:11.2f} | " + " ".join(f"{metrics[c]:.3f}" for c in COLUMNS))


if __name__ == "__main__":
    main()
