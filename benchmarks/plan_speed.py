"""Planning speed: milliseconds per request of a loaded planner (what ``orchestai.plan`` does after start-up), and its size.

Loads ``--checkpoint`` once per encoder precision (start-up: the checkpoint, and the
text encoder for a ``minilm`` planner), then plans ``--requests`` distinct requests one
at a time (held-out requests of the checkpoint's data set when it is a TaskBench file,
else synthetic variations) and prints the start-up time, the median and
95th-percentile milliseconds per request, and the checkpoint's size (a frozen
encoder's weights are not in it: they come from the package).

A ``minilm`` planner with clause coverage encodes a request and its clauses at the same
time, on two threads (what ``orchestai.plan`` does); the reference, timed in the same
run, encodes them one after the other. Its text encoder computes in float32 and, where
the CPU multiplies bfloat16 in hardware, also in bfloat16; the run prints the ratios of
the medians, how many plans are the same, which precision ``orchestai.plan``'s
``auto`` takes on this CPU and, on held-out TaskBench records, each run's per-record
node and link F1.

    python benchmarks/plan_speed.py --checkpoint runs/ultratool/phase1_best_model_3027.pth
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from orchestai.data.examples import PlanExample
from orchestai.envs.embeddings import bfloat16_is_fast, fastest_precision
from orchestai.plan.planning import InstructionPlanner
from orchestai.planner.metrics import Plan, plan_metrics


def held_out_requests(checkpoint: Path, n: int) -> list[PlanExample] | list[str]:
    """The first ``n`` held-out records of the checkpoint's TaskBench data, else ``n`` synthetic requests."""
    stored = torch.load(checkpoint, map_location="cpu", weights_only=True)
    settings = stored.get("extra", {}).get("phase1_config", {})
    if settings.get("format") == "taskbench" and settings.get("data"):
        from orchestai.data.examples import split_examples
        from orchestai.planner.datasets import load_planner_data

        data = load_planner_data("taskbench", settings["data"])
        _, held_out = split_examples(
            data.examples, settings.get("split", "random"), settings.get("val_fraction", 0.2), settings.get("split_seed", 0)
        )
        return held_out[:n]
    return [f"Summarise report {k}, then translate the summary into French and email it." for k in range(n)]


def as_plan(planned: dict, type_names: list[str]) -> Plan:
    """The plan ``orchestai.plan`` printed, as type ids and parent indices."""
    ids = {s["id"]: i for i, s in enumerate(planned["subtasks"])}
    types = tuple(type_names.index(s["type"]) for s in planned["subtasks"])
    return Plan(types, tuple(tuple(ids[p] for p in s["depends_on"]) for s in planned["subtasks"]))


class Timing(NamedTuple):
    """One precision's run: the loaded planner, its start-up seconds, milliseconds per request and plans."""

    planner: InstructionPlanner
    startup: float
    ms: np.ndarray
    plans: list[Plan]


def timed_plans(checkpoint: Path, texts: list[str], precision: str, concurrent_clauses: bool = True) -> Timing:
    """Load the planner with ``precision`` and plan ``texts`` one at a time."""
    started = time.perf_counter()
    planner = InstructionPlanner(checkpoint, encoder_precision=precision, concurrent_clauses=concurrent_clauses)
    planner.plan("warm up the text encoder")
    startup = time.perf_counter() - started
    names = list(planner.model.vocabulary.type_names)
    seconds, plans = [], []
    for text in texts:
        begun = time.perf_counter()
        planned = planner.plan(text)
        seconds.append(time.perf_counter() - begun)
        plans.append(as_plan(planned, names))
    return Timing(planner, startup, np.array(seconds) * 1000, plans)


def report(label: str, timing: Timing, gold: list[Plan]) -> None:
    """Print one precision's start-up, milliseconds per request and, with ``gold`` plans, its scores."""
    ms = timing.ms
    print(f"{label}: start-up {timing.startup:.1f} s; {len(ms)} requests, one at a time:")
    print(f"  median {np.median(ms):.1f} ms, 95th percentile {np.percentile(ms, 95):.1f} ms per request (target <= 50 ms)")
    if gold:
        names = list(timing.planner.model.vocabulary.type_names)
        scores = plan_metrics(timing.plans, gold, names)
        print(
            f"  held-out records: node F1 {scores['node_f1_record']:.3f}, link F1 {scores['edge_f1_record']:.3f}, "
            f"exact plans {scores['exact_plan']:.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="a planner checkpoint")
    parser.add_argument("--requests", type=int, default=200, help="requests to plan (default 200)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as orchestai.plan)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    records = held_out_requests(args.checkpoint, args.requests)
    texts = [r.instruction if isinstance(r, PlanExample) else r for r in records]
    gold = [Plan(r.types, r.parents) for r in records if isinstance(r, PlanExample)]
    exact = timed_plans(args.checkpoint, texts, "float32")
    config = exact.planner.model.config
    minilm = config.encoder == "minilm"
    report("float32 (checkpoint and text encoder loaded)", exact, gold)
    if minilm and config.coverage:
        one_thread = timed_plans(args.checkpoint, texts, "float32", concurrent_clauses=False)
        report("float32, clauses encoded after the request (reference)", one_thread, gold)
        same = sum(a == b for a, b in zip(exact.plans, one_thread.plans, strict=True))
        print(
            f"request and clauses at the same time / one after the other: {np.median(exact.ms) / np.median(one_thread.ms):.2f}; "
            f"the same plan for {same} of {len(texts)} requests"
        )
    if minilm and bfloat16_is_fast():
        rounded = timed_plans(args.checkpoint, texts, "bfloat16")
        report("bfloat16", rounded, gold)
        same = sum(a == b for a, b in zip(exact.plans, rounded.plans, strict=True))
        ratio = np.median(rounded.ms) / np.median(exact.ms)
        print(f"bfloat16 / float32 median: {ratio:.2f}; the same plan for {same} of {len(texts)} requests")
    if minilm:
        print(f"orchestai.plan --encoder-precision auto takes {fastest_precision()} on this CPU")
    size = args.checkpoint.stat().st_size / 1e6
    print(f"checkpoint {size:.1f} MB (target < 50 MB; the frozen encoder's weights are not in it)")


if __name__ == "__main__":
    main()
