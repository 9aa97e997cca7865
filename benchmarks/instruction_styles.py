"""Phase 1 on synthetic instructions in several styles: how well the planner reads numbered steps, prose and mixed text.

Builds a world from the bundled one with ``templates.styles`` set to ``--styles`` (the
bundled mix is prose 0.6, mixed 0.2, numbered 0.2) and, with ``--short``, templates of
2 to 12 subtasks, writes it to a temporary YAML, generates synthetic logs in it, trains
Phase 1 with the bundled defaults (validation on the held-out templates' logs), and
prints ``python -m orchestai.evaluate.planning``'s table, which has one block per style.
Everything is synthetic.

    python benchmarks/instruction_styles.py --styles prose=1.0 --short
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from orchestai.configuration import to_mapping
from orchestai.world.world import World


def main() -> None:
    """Build the world, generate, train, compare."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--styles",
        nargs="+",
        default=None,
        help="STYLE=WEIGHT ... (default: the bundled world's mix)",
    )
    parser.add_argument(
        "--short", action="store_true", help="templates of 2 to 12 subtasks (mean 6) instead of the bundled 2 to 32 (mean 20)"
    )
    parser.add_argument("--logs", type=int, default=1000, help="synthetic logs (default 1000)")
    parser.add_argument("--epochs", type=int, default=None, help="Phase 1 epochs (default: phase1.yaml's)")
    args = parser.parse_args()
    base = World.load().config
    templates = base.templates
    if args.styles:
        templates = dataclasses.replace(
            templates, styles={name: float(weight) for name, weight in (item.split("=") for item in args.styles)}
        )
    if args.short:
        templates = dataclasses.replace(templates, min_subtasks=2, mean_subtasks=6.0, std_subtasks=3.0, max_subtasks=12)
    config = dataclasses.replace(base, templates=templates)
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        world_path = folder / "world.yaml"
        world_path.write_text(yaml.safe_dump(to_mapping(config), sort_keys=False))
        logs = folder / "logs.jsonl"
        run = [sys.executable, "-m"]
        subprocess.run(
            [
                *run,
                "orchestai.data.generate",
                "--n",
                str(args.logs),
                "--seed",
                "0",
                "--world",
                str(world_path),
                "--out",
                str(logs),
            ],
            check=True,
        )
        train = [
            *run,
            "orchestai.phase1.train",
            "--data",
            str(logs),
            "--world",
            str(world_path),
            "--out-dir",
            str(folder / "phase1"),
            "--no-progress",
        ]
        if args.epochs is not None:
            train += ["--epochs", str(args.epochs)]
        subprocess.run(train, check=True, stdout=subprocess.DEVNULL)
        checkpoint = next((folder / "phase1").glob("phase1_best_model_*.pth"))
        subprocess.run(
            [*run, "orchestai.evaluate.planning", "--checkpoint", str(checkpoint), "--embeddings", "no"], check=True
        )


if __name__ == "__main__":
    main()
