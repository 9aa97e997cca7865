"""How often ``orchestai.plan`` calls a request unfamiliar: on held-out requests of the planner's own data set, and on requests from elsewhere.

For a planner trained on a TaskBench-format file (e.g. UltraTool), plans its held-out
requests (the run's seeded split) and ``--other`` requests (by default RestBench/TMDB's
movie questions and 100 synthetic OrchestAI instructions, none of which its catalogue
can serve) and prints, for each set, the share flagged unfamiliar and the median nearest
similarity and step-count probability.

    python benchmarks/familiarity.py --checkpoint runs/ultratool/phase1_best_model_3027.pth
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from orchestai.data.examples import split_examples
from orchestai.plan.planning import InstructionPlanner
from orchestai.planner.datasets import load_planner_data

REPO = Path(__file__).resolve().parent.parent


def synthetic_instructions(n: int) -> list[str]:
    from orchestai.world.templates import render_workflow, world_templates
    from orchestai.world.world import World

    world = World.load()
    rng = np.random.default_rng(0)
    templates = world_templates(world)
    return [render_workflow(world, templates[k % len(templates)], rng, f"w{k}").instruction for k in range(n)]


def summary(planner: InstructionPlanner, texts: list[str]) -> str:
    found = [planner.plan(t)["familiarity"] for t in texts]
    flagged = np.mean([f["unfamiliar"] for f in found])
    similarity = np.median([f.get("nearest_training_similarity", np.nan) for f in found])
    steps = np.median([f["step_count_probability"] for f in found])
    return f"{len(texts):4d} requests: {flagged:6.1%} flagged unfamiliar; median nearest similarity {similarity:.3f}, step-count probability {steps:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checkpoint", type=Path, required=True, help="a planner checkpoint trained on a TaskBench-format file"
    )
    parser.add_argument("--other", type=Path, default=REPO.parent / "shared" / "data" / "tmdb" / "data.json",
                        help="a TaskBench-format file of requests from elsewhere (default ../shared/data/tmdb/data.json)")  # fmt: skip
    args = parser.parse_args()
    stored = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    settings = stored["extra"]["phase1_config"]
    data = load_planner_data(settings["format"], settings["data"])
    _, held_out = split_examples(
        data.examples, settings.get("split", "random"), settings["val_fraction"], settings["split_seed"]
    )
    planner = InstructionPlanner(args.checkpoint)
    print(f"held-out requests of {settings['data']}: {summary(planner, [e.instruction for e in held_out])}")
    other = [e.instruction for e in load_planner_data("taskbench", str(args.other)).examples]
    print(f"requests of {args.other}: {summary(planner, other)}")
    print(f"synthetic OrchestAI instructions: {summary(planner, synthetic_instructions(100))}")


if __name__ == "__main__":
    main()
