"""Planning speed: milliseconds per request of a loaded planner (what ``orchestai.plan`` does after start-up), and its size.

Loads ``--checkpoint`` once per encoder precision (start-up: the checkpoint, and the
text encoder for a ``minilm`` planner), then plans ``--requests`` distinct requests one
at a time (held-out requests of the checkpoint's data set when it is a TaskBench file,
else synthetic variations) and prints the start-up time, the median and
95th-percentile milliseconds per request, and the checkpoint's size (a frozen
encoder's weights are not in it: they come from the package).

A ``minilm`` planner is timed with its text encoder computing in float32 and, where
the CPU multiplies bfloat16 in hardware (what ``orchestai.plan`` then uses), in
bfloat16, in the same run: the ratio of the two medians, how many plans are the same,
and, on held-out TaskBench records, each precision's per-record node and link F1.

    python benchmarks/plan_speed.py --checkpoint runs/ultratool/phase1_best_model_3027.pth
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from orchestai.data.examples import PlanExample
from orchestai.envs.embeddings import bfloat16_is_fast
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


def timed_plans(
    checkpoint: Path, texts: list[str], precision: str
) -> tuple[InstructionPlanner, float, np.ndarray, list[dict]]:
    """A planner loaded with ``precision``, its start-up seconds, the milliseconds per request and the plans."""
    started = time.perf_counter()
    planner = InstructionPlanner(checkpoint, encoder_precision=precision)
    planner.plan("warm up the text encoder")
    startup = time.perf_counter() - started
    seconds, plans = [], []
    for text in texts:
        begun = time.perf_counter()
        plans.append(planner.plan(text))
        seconds.append(time.perf_counter() - begun)
    return planner, startup, np.array(seconds) * 1000, plans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="a planner checkpoint")
    parser.add_argument("--requests", type=int, default=200, help="requests to plan (default 200)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as orchestai.plan)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    records = held_out_requests(args.checkpoint, args.requests)
    texts = [r.instruction if isinstance(r, PlanExample) else r for r in records]
    precisions = ["float32", "bfloat16"]
    medians: dict[str, float] = {}
    outputs: dict[str, list[dict]] = {}
    for precision in list(precisions):
        planner, startup, ms, plans = timed_plans(args.checkpoint, texts, precision)
        if precision == "float32" and planner.model.config.encoder != "minilm":
            precisions = ["float32"]  # no pretrained encoder: nothing computes in bfloat16
        elif precision == "float32" and not bfloat16_is_fast():
            print("this CPU has no bfloat16 arithmetic in hardware: orchestai.plan encodes in float32")
            precisions = ["float32"]
        medians[precision], outputs[precision] = float(np.median(ms)), plans
        used = " (what orchestai.plan uses here)" if precision == precisions[-1] else ""
        loaded = "checkpoint and text encoder" if precision == "float32" else "checkpoint; the text encoder was loaded above"
        print(f"{precision}{used}: start-up {startup:.1f} s ({loaded}); {len(texts)} requests, one at a time:")
        print(f"  median {np.median(ms):.1f} ms, 95th percentile {np.percentile(ms, 95):.1f} ms per request (target <= 50 ms)")
        if records and isinstance(records[0], PlanExample):
            names = list(planner.model.vocabulary.type_names)
            gold = [Plan(r.types, r.parents) for r in records if isinstance(r, PlanExample)]
            scores = plan_metrics([as_plan(p, names) for p in plans], gold, names)
            print(
                f"  held-out records: node F1 {scores['node_f1_record']:.3f}, link F1 {scores['edge_f1_record']:.3f}, "
                f"exact plans {scores['exact_plan']:.3f}"
            )
        if len(precisions) == 1:
            break
    if len(precisions) == 2:
        same = sum(
            [s["type"] for s in a["subtasks"]] == [s["type"] for s in b["subtasks"]]
            and [s["depends_on"] for s in a["subtasks"]] == [s["depends_on"] for s in b["subtasks"]]
            for a, b in zip(outputs["float32"], outputs["bfloat16"], strict=True)
        )
        print(
            f"bfloat16 / float32 median: {medians['bfloat16'] / medians['float32']:.2f}; "
            f"the same plan for {same} of {len(texts)} requests"
        )
    size = args.checkpoint.stat().st_size / 1e6
    print(f"checkpoint {size:.1f} MB (target < 50 MB; the frozen encoder's weights are not in it)")


if __name__ == "__main__":
    main()
