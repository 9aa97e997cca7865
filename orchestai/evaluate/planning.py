"""``python -m orchestai.evaluate.planning --checkpoint PATH``: a trained planner against nearest-neighbour planners.

Rebuilds the Phase 1 run's data and seeded validation split from the configuration
stored in the checkpoint (``--data`` / ``--format`` override it: e.g. a planner trained
on UltraTool with ``--format taskbench``) and prints, for the planner and for
nearest-neighbour planners on bag-of-words and (with the ``orchestai[embeddings]``
extra) on all-MiniLM-L6-v2 sentence embeddings: node and link F1 as GNN4TaskPlan's
``evaluate.py`` defines them (per record, averaged over records; links as
source–target name pairs), TaskBench's pooled node and link F1, per-slot type accuracy
and exact-plan accuracy (same types in order and the same edges). On plans without
execution logs (``--format taskbench``) a last block scores synthetic compositions of two
held-out requests ("<a>, and then <b>", as :mod:`orchestai.data.compositions` makes for
training): requests that join intents no training request joins. Where held-out records
describe their steps (UltraTool's ``task_steps``), a block scores the records that
describe every step, with a reference row that reads those descriptions
(:mod:`orchestai.evaluate.step_oracle`): how far tool choice can be read from text on
this data. ``--json PATH`` also writes the numbers.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from orchestai.cli import run_cli
from orchestai.configuration import from_mapping
from orchestai.data.compositions import composed_examples, step_compositions
from orchestai.data.examples import PlanExample, describe_split, held_out_types, split_examples
from orchestai.envs.embeddings import EMBEDDINGS_EXTRA_HINT, embeddings_available, sentence_embeddings
from orchestai.evaluate.step_oracle import DESCRIBED_GROUP, ORACLE_NAME, step_description_plans
from orchestai.files import write_json_atomic
from orchestai.paths import data_dir
from orchestai.phase1.config import DATA_FORMATS, Phase1Config
from orchestai.planner.checkpoint import CheckpointError, load_planner
from orchestai.planner.datasets import load_planner_data
from orchestai.planner.inference import predict_plans
from orchestai.planner.metrics import Plan, plan_metrics
from orchestai.planner.nearest_neighbour import NearestNeighbourPlanner, VectorNeighbourPlanner
from orchestai.planner.tensors import tensorize
from orchestai.planner.text_inputs import builder_for_checkpoint
from orchestai.world.templates import instruction_style

COLUMNS = (
    ("node_f1_record", "node F1 (GNN4TaskPlan)"),
    ("edge_f1_record", "link F1 (GNN4TaskPlan)"),
    ("node_f1", "node F1 (pooled)"),
    ("edge_f1", "link F1 (pooled)"),
    ("type_accuracy", "type acc"),
    ("exact_plan", "exact plan"),
    ("length_accuracy", "length acc"),
    ("valid_dag", "valid DAG"),
)


STEP_GROUPS = (("1 step", 1, 1), ("2 steps", 2, 2), ("3 steps", 3, 3), ("4 steps", 4, 4), ("5+ steps", 5, 10**9))
COMPOSED_GROUP = "composed: two held-out requests (synthetic)"
COMPOSED_STEP_GROUP = "composed: a held-out request and a step of another (synthetic)"
COMPOSED_FRACTION = 0.5  # compositions of held-out requests scored, per held-out record


def compare_planners(
    checkpoint: str | Path, data: str | None = None, data_format: str | None = None, embeddings: str = "auto",
    cache_dir: str | Path | None = None, log: Any = print, graph_penalty: float | None = None,
) -> dict[str, dict[str, dict[str, float]]]:  # fmt: skip
    """Metrics of the checkpoint's planner and the neighbour planners on the run's validation split.

    Keyed by group, then planner: ``all`` records, by number of gold steps (``2 steps`` ..
    ``5+ steps``, where any), and, when the run held task types out of training
    (``held_out_type_fraction``), ``unseen types``: the records that use one; without
    execution logs, :data:`COMPOSED_GROUP` and, where the data describes its steps,
    :data:`COMPOSED_STEP_GROUP`; where held-out records describe every step (and the
    embeddings extra is installed), :data:`DESCRIBED_GROUP`: those records, with the
    :data:`ORACLE_NAME` row of :mod:`orchestai.evaluate.step_oracle` besides the
    planners. The neighbours search the same training records the planner learned from.
    """
    model, stored = load_planner(checkpoint)
    if graph_penalty is not None:  # decode with another penalty than the checkpoint's
        model.config = dataclasses.replace(model.config, graph_penalty=graph_penalty)
        model.config.validate()
    settings = dict(stored.get("extra", {}).get("phase1_config", {}))
    if data is not None:
        settings["data"] = data
    if data_format is not None:
        settings["format"] = data_format
    config = from_mapping(Phase1Config, settings, f"{checkpoint}: phase1_config")
    loaded = load_planner_data(config.format, config.data, config.world, config.n_logs, config.skip_invalid)
    if loaded.vocabulary.type_names != model.vocabulary.type_names:
        raise CheckpointError(f"{checkpoint}: its task types differ from those of {loaded.source}")
    train, val = split_examples(loaded.examples, config.split, config.val_fraction, config.split_seed)
    unseen = held_out_types(loaded.examples, config.held_out_type_fraction, config.split_seed)
    train = [e for e in train if not unseen.intersection(e.types)]
    split = describe_split(loaded.examples, config.split, config.split_seed)
    log(f"{loaded.source}: {len(train)} train / {len(val)} held-out records ({split})")
    gold = [Plan(e.types, e.parents, e.models) for e in val]
    instructions = [e.instruction for e in val]
    names = loaded.vocabulary.type_names
    allowed = loaded.vocabulary.allowed_links()
    if allowed:
        links = [(e.types[p], e.types[c]) for e in val for c, ps in enumerate(e.parents) for p in ps]
        inside = sum(link in allowed for link in links)
        log(f"gold links inside the catalogue's graph: {inside} of {len(links)} ({inside / max(len(links), 1):.2%})")
    groups = record_groups(val, unseen)
    held_out = len(val)
    if loaded.logs is None:  # the synthetic compositions Phase 1 can train on (compose_fraction, compose_step_fraction)
        composed = {
            COMPOSED_GROUP: composed_examples(val, COMPOSED_FRACTION, config.split_seed, allowed or None, "any")[0],
            COMPOSED_STEP_GROUP: step_compositions(val, COMPOSED_FRACTION, config.split_seed, allowed or None)[0],
        }
        for group, examples in composed.items():
            if examples:
                groups[group] = list(range(len(val), len(val) + len(examples)))
                val = val + examples
                gold += [Plan(e.types, e.parents, e.models) for e in examples]
                instructions += [e.instruction for e in examples]
    builder = builder_for_checkpoint(model, stored, config.text_cache_dir or data_dir() / "cache")
    plans = {
        "planner": builder.covered(
            predict_plans(model, tensorize(val, loaded.vocabulary, builder), config.edge_threshold), instructions
        ),
        "neighbour (bag of words)": NearestNeighbourPlanner(train).plan(instructions),
    }
    use_embeddings = embeddings == "yes" or (embeddings == "auto" and embeddings_available())
    if use_embeddings:
        neighbour = VectorNeighbourPlanner(train, lambda texts: sentence_embeddings(texts, cache_dir))
        plans["neighbour (MiniLM embeddings)"] = neighbour.plan(instructions)
    else:
        log(f"neighbour on embeddings skipped: {EMBEDDINGS_EXTRA_HINT}")

    def scored(members: list[int], planners: Mapping[str, Sequence[Plan] | Mapping[int, Plan]]) -> dict[str, dict[str, float]]:
        return {
            name: plan_metrics([predicted[k] for k in members], [gold[k] for k in members], names)
            for name, predicted in planners.items()
        }

    results = {group: scored(members, plans) for group, members in groups.items() if members}
    if loaded.logs is None and use_embeddings:
        oracle = step_description_plans(
            train, val[:held_out], lambda texts: sentence_embeddings(texts, cache_dir), len(names), config.seed
        )
        if oracle:
            described = sum(len(e.step_clauses) for e in train)
            log(f"step-clause oracle: a classifier of the {described} step clauses of the {len(train)} training records")
            groups[DESCRIBED_GROUP] = sorted(oracle)
            results[DESCRIBED_GROUP] = scored(groups[DESCRIBED_GROUP], {**plans, ORACLE_NAME: oracle})
    if unseen and "unseen types" in results:
        for name, predicted in plans.items():
            results["unseen types"][name] |= unseen_type_scores(predicted[:held_out], val[:held_out], unseen)
    return results | {"_records": {group: {"records": float(len(members))} for group, members in groups.items()}}


def record_groups(val: list[PlanExample], unseen: set[int]) -> dict[str, list[int]]:
    """Which held-out records each table block covers: all, by number of gold steps, records using unseen types, and by instruction style (when several)."""
    groups = {"all": list(range(len(val)))}
    for label, low, high in STEP_GROUPS:
        members = [k for k, e in enumerate(val) if low <= e.n_subtasks <= high]
        if members:
            groups[label] = members
    if unseen:
        groups["unseen types"] = [k for k, e in enumerate(val) if unseen.intersection(e.types)]
    styles = [instruction_style(e.instruction) for e in val]
    if len(set(styles)) > 1:  # synthetic instructions rendered in several styles
        for style in sorted(set(styles)):
            groups[f"style: {style}"] = [k for k, s in enumerate(styles) if s == style]
    return groups


def unseen_type_scores(predicted: list[Plan], gold: list[PlanExample], unseen: set[int]) -> dict[str, float]:
    """Of the held-out types in the gold plans, the share a planner names (recall), and how often it is right when it names one."""
    wanted = named = hits = 0
    for plan, example in zip(predicted, gold, strict=True):
        truth, guess = unseen.intersection(example.types), unseen.intersection(plan.types)
        wanted, named, hits = wanted + len(truth), named + len(guess), hits + len(truth & guess)
    return {"unseen_type_recall": hits / max(wanted, 1), "unseen_type_precision": hits / max(named, 1)}


def format_table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """The comparison as aligned text, one block per group of records."""
    header = f"{'planner':30}" + "".join(f" {title:>22}" for _, title in COLUMNS)
    lines = []
    for group, planners in results.items():
        if group.startswith("_"):
            continue
        count = int(results.get("_records", {}).get(group, {}).get("records", 0))
        lines += ["", f"{group} ({count} records)", header, "-" * len(header)]
        for name, metrics in planners.items():
            lines.append(f"{name:30}" + "".join(f" {metrics[key]:22.4f}" for key, _ in COLUMNS))
            if "unseen_type_recall" in metrics:
                lines.append(
                    f"{'':30} held-out types named: recall {metrics['unseen_type_recall']:.4f}, "
                    f"precision {metrics['unseen_type_precision']:.4f}"
                )
    return "\n".join(lines[1:])


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
    parser.add_argument(
        "--graph-penalty", type=float, default=None,
        help="decode with this factor on types and edges outside the catalogue's graph (0: allowed only; default: the checkpoint's)",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, default=None, help="also write the metrics here")
    args = parser.parse_args(argv)

    def command() -> int:
        results = compare_planners(
            args.checkpoint, args.data, args.format, args.embeddings, args.cache_dir, graph_penalty=args.graph_penalty
        )
        print(format_table(results))
        if args.json:
            write_json_atomic(args.json, results)
        return 0

    return run_cli(command)


if __name__ == "__main__":
    raise SystemExit(main())
