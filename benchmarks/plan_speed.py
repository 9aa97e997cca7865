"""Planning speed: milliseconds per request of a loaded planner (what ``orchestai.plan`` does after start-up), and its size.

Loads ``--checkpoint`` once (start-up: the checkpoint, and the text encoder for a
``minilm`` planner), then plans ``--requests`` distinct requests one at a time (held-out
requests of the checkpoint's data set when it is a TaskBench file, else synthetic
variations) and prints the start-up time, the median and 95th-percentile milliseconds
per request, and the checkpoint's size (a frozen encoder's weights are not in it: they
come from the package).

    python benchmarks/plan_speed.py --checkpoint runs/ultratool/phase1_best_model_3027.pth
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from orchestai.plan.planning import InstructionPlanner


def requests_for(checkpoint: Path, n: int) -> list[str]:
    stored = torch.load(checkpoint, map_location="cpu", weights_only=True)
    settings = stored.get("extra", {}).get("phase1_config", {})
    if settings.get("format") == "taskbench" and settings.get("data"):
        from orchestai.data.examples import split_examples
        from orchestai.planner.datasets import load_planner_data

        data = load_planner_data("taskbench", settings["data"])
        _, held_out = split_examples(
            data.examples, settings.get("split", "random"), settings.get("val_fraction", 0.2), settings.get("split_seed", 0)
        )
        return [e.instruction for e in held_out[:n]]
    return [f"Summarise report {k}, then translate the summary into French and email it." for k in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="a planner checkpoint")
    parser.add_argument("--requests", type=int, default=200, help="requests to plan (default 200)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as orchestai.plan)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    texts = requests_for(args.checkpoint, args.requests)
    started = time.perf_counter()
    planner = InstructionPlanner(args.checkpoint)
    planner.plan("warm up the text encoder")
    startup = time.perf_counter() - started
    seconds = []
    for text in texts:
        begun = time.perf_counter()
        planner.plan(text)
        seconds.append(time.perf_counter() - begun)
    ms = np.array(seconds) * 1000
    size = args.checkpoint.stat().st_size / 1e6
    print(f"start-up {startup:.1f} s (checkpoint and text encoder); {len(texts)} requests, one at a time:")
    print(f"  median {np.median(ms):.1f} ms, 95th percentile {np.percentile(ms, 95):.1f} ms per request (target <= 50 ms)")
    print(f"  checkpoint {size:.1f} MB (target < 50 MB; the frozen encoder's weights are not in it)")


if __name__ == "__main__":
    main()
