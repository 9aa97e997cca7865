"""Phase 1 speed and size: seconds per epoch on the 1,000 bundled synthetic logs and the checkpoint size.

Runs ``python -m orchestai.phase1.train`` in-process with the default configuration
for a few epochs into a temporary folder, reads the per-epoch times it recorded, and
prints their median next to the original system's figures (120-240 s per epoch and a
1.3 GB checkpoint for 800 training logs on CPU). Targets: <= 3 s per epoch, < 50 MB.

    python benchmarks/phase1_speed.py [--epochs 5]

``--ultratool`` times the real-text recipe instead: UltraTool (``../shared/data/ultratool``),
the README's recipe (the frozen MiniLM encoder read clause by clause, grounding, the retrieval prior,
d_model 128, early stopping on 10% of the training split; ``--compose-fraction 0.5 --ema-decay 0.995`` as in the README) (target <= 10 s
per epoch once the texts' token states are cached: the first run encodes them once and
prints how long that took).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
from pathlib import Path

from orchestai.configuration import load_yaml_config
from orchestai.phase1.config import DEFAULT_PHASE1_CONFIG, Phase1Config
from orchestai.phase1.trainer import Phase1Trainer

ORIGINAL_SECONDS_PER_EPOCH = (120.0, 240.0)
ORIGINAL_CHECKPOINT_MB = 1300.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--ultratool", action="store_true", help="time the UltraTool recipe (MiniLM encoder) instead")
    parser.add_argument(
        "--compose-fraction", type=float, default=0.0, help="with --ultratool: synthetic compositions added (default 0)"
    )
    parser.add_argument(
        "--ema-decay", type=float, default=0.0, help="with --ultratool: the moving average of the weights (default 0: none)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        config = dataclasses.replace(
            load_yaml_config(Phase1Config, DEFAULT_PHASE1_CONFIG),
            epochs=args.epochs,
            patience=args.epochs,
            out_dir=out,
            progress=False,
        )
        if args.ultratool:
            model = dataclasses.replace(
                config.model, d_model=128, encoder="minilm", grounding=True, retrieval_k=8, segments="clauses"
            )
            data = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "ultratool" / "data.json"
            config = dataclasses.replace(
                config,
                format="taskbench",
                data=str(data),
                model=model,
                compose_fraction=args.compose_fraction,
                ema_decay=args.ema_decay,
                early_stop_fraction=0.1,
            )
        code = Phase1Trainer(config).run()
        if code != 0:
            raise SystemExit(code)
        metrics = next(Path(out).glob("phase1_metrics_*.json"))
        history = json.loads(metrics.read_text())["history"]
        seconds = [row["seconds"] for row in history]
        size_mb = next(Path(out).glob("phase1_best_model_*.pth")).stat().st_size / 1e6
    if args.ultratool:
        print(
            f"UltraTool, MiniLM encoder (frozen, cached), compose_fraction {args.compose_fraction}, ema_decay {args.ema_decay}: "
            f"median {statistics.median(seconds):.2f} s per epoch over {len(seconds)} epochs (target <= 10 s)"
        )
        print(f"checkpoint size: {size_mb:.2f} MB, the encoder's weights not included (target < 50 MB)")
        return
    median = statistics.median(seconds)
    low, high = ORIGINAL_SECONDS_PER_EPOCH
    print(
        f"seconds per epoch (train + validation, 1,000 logs): median {median:.2f} over {len(seconds)} epochs "
        f"(min {min(seconds):.2f}, max {max(seconds):.2f}); original {low:.0f}-{high:.0f} s: "
        f"{low / median:.0f}-{high / median:.0f}x faster (target <= 3 s)"
    )
    print(
        f"checkpoint size: {size_mb:.2f} MB; original {ORIGINAL_CHECKPOINT_MB:.0f} MB: {ORIGINAL_CHECKPOINT_MB / size_mb:.0f}x smaller (target < 50 MB)"
    )


if __name__ == "__main__":
    main()
