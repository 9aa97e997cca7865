"""``python -m orchestai``: the whole pipeline on the bundled defaults.

1. the default synthetic data set (1,000 execution logs, generated on first use) and its validation;
2. Phase 1: supervised planner training (``orchestai.phase1.train``);
3. Phase 2: PPO fine-tuning from the Phase 1 checkpoint (``orchestai.phase2.ppo``);
4. evaluation of every baseline, the Phase 1 planner and the PPO policy on the same
   held-out synthetic workflows (``orchestai.evaluate``).

``--profile quick`` (the default) shortens Phase 1 and Phase 2 so the whole job takes a
few minutes on a 2-core CPU; ``--profile full`` runs the configs' defaults (50 epochs,
200,000 PPO steps, 500 evaluation episodes per policy). Each stage prints where its
outputs went.
"""

from __future__ import annotations

import argparse
from pathlib import Path

PROFILES = {
    "quick": {"epochs": 25, "timesteps": 60_000, "episodes": 200},
    "full": {"epochs": 50, "timesteps": 200_000, "episodes": 500},
}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Run the OrchestAI pipeline on the bundled defaults.")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    parser.add_argument("--out-dir", type=Path, default=Path("runs/main"))
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    profile = PROFILES[args.profile]
    out = args.out_dir / args.profile
    progress = [] if not args.no_progress else ["--no-progress"]

    from orchestai.data.generate import ensure_default_logs
    from orchestai.data.logs import load_logs
    from orchestai.world.world import World

    world = World.load()
    print(f"[1/4] world: {world.n_types} task types, {world.n_models} worker models (configs/world.yaml)")
    path = ensure_default_logs(world=world)
    print(f"      synthetic execution logs: {len(load_logs(path, world).logs)} valid records in {path}")

    from orchestai.phase1.train import main as phase1_main

    print(f"[2/4] phase 1: {profile['epochs']} epochs -> {out / 'phase1'}")
    code = phase1_main(["--epochs", str(profile["epochs"]), "--out-dir", str(out / "phase1"), *progress])
    if code:
        return code
    checkpoint = out / "phase1" / "phase1_best_model_1000.pth"

    from orchestai.phase2.ppo import main as phase2_main

    print(f"[3/4] phase 2: PPO for {profile['timesteps']} steps from {checkpoint} -> {out / 'phase2'}")
    code = phase2_main(
        [
            "--init",
            str(checkpoint),
            "--timesteps",
            str(profile["timesteps"]),
            "--out-dir",
            str(out / "phase2"),
            "--eval-episodes",
            "0",
            *progress,
        ]
    )
    if code:
        return code

    from orchestai.evaluate.__main__ import main as evaluate_main

    print(f"[4/4] evaluation on {profile['episodes']} held-out synthetic workflows -> {out / 'evaluate'}")
    code = evaluate_main(
        [
            "--episodes",
            str(profile["episodes"]),
            "--phase1",
            str(checkpoint),
            "--ppo",
            str(out / "phase2" / "ppo_model.zip"),
            "--out-dir",
            str(out / "evaluate"),
        ]
    )
    if code:
        return code
    print(
        f"outputs: {checkpoint}, {out / 'phase2' / 'ppo_model.zip'}, {out / 'phase2' / 'phase2_planner.pth'}, {out / 'evaluate'}"
    )
    print(f'plan an instruction: python -m orchestai.plan "<instruction>" --checkpoint {checkpoint}')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
