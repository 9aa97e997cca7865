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

from orchestai.cli import run_cli

PROFILES = {
    "quick": {"epochs": 25, "timesteps": 60_000, "episodes": 200},
    "full": {"epochs": 50, "timesteps": 200_000, "episodes": 500},
}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Run the OrchestAI pipeline on the bundled defaults.")
    parser.add_argument(
        "--profile", choices=sorted(PROFILES), default="quick",
        help="quick: a few minutes on 2 CPU cores (25 epochs, 60k PPO steps, 200 episodes); full: the configs' defaults",
    )  # fmt: skip
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=Path("runs/main"),
        help="output folder (default runs/main; the profile is a sub-folder)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--overwrite", action="store_true", help="replace the outputs of a previous run in the same folder")
    args = parser.parse_args(argv)
    return run_cli(lambda: run_pipeline(args.profile, args.out_dir / args.profile, not args.no_progress, args.overwrite))


def run_pipeline(profile_name: str, out: Path, progress: bool, overwrite: bool = False) -> int:
    """Synthetic data, Phase 1, Phase 2 and the evaluation, with the profile's budgets; returns the exit code."""
    import dataclasses

    from orchestai.configuration import load_yaml_config
    from orchestai.data.generate import ensure_default_logs
    from orchestai.evaluate.synthetic import EvaluationRequest, run_evaluation
    from orchestai.logs.io import load_logs
    from orchestai.phase1.config import BEST_MODEL_NAME, DEFAULT_PHASE1_CONFIG, Phase1Config
    from orchestai.phase1.trainer import Phase1Trainer
    from orchestai.phase2.config import DEFAULT_PHASE2_CONFIG, Phase2Config
    from orchestai.phase2.trainer import train_phase2
    from orchestai.world.world import World

    profile = PROFILES[profile_name]
    world = World.load()
    print(f"[1/4] world: {world.n_types} task types, {world.n_models} worker models ({world.source})")
    phase1 = dataclasses.replace(
        load_yaml_config(Phase1Config, DEFAULT_PHASE1_CONFIG),
        epochs=profile["epochs"],
        out_dir=str(out / "phase1"),
        progress=progress,
        overwrite=overwrite,
    )
    path = ensure_default_logs(n=phase1.n_logs, world=world)
    print(f"      synthetic execution logs: {len(load_logs(path, world).logs)} valid records in {path}")

    print(f"[2/4] phase 1: {profile['epochs']} epochs -> {out / 'phase1'}")
    code = Phase1Trainer(phase1).run()
    if code:
        return code
    checkpoint = out / "phase1" / BEST_MODEL_NAME.format(n=phase1.n_logs)

    print(f"[3/4] phase 2: PPO for {profile['timesteps']} steps from {checkpoint} -> {out / 'phase2'}")
    phase2 = dataclasses.replace(
        load_yaml_config(Phase2Config, DEFAULT_PHASE2_CONFIG), init=str(checkpoint), timesteps=profile["timesteps"],
        out_dir=str(out / "phase2"), eval_episodes=0, progress=progress, overwrite=overwrite,
    )  # fmt: skip
    code = train_phase2(phase2)
    if code:
        return code

    print(f"[4/4] evaluation on {profile['episodes']} held-out synthetic workflows -> {out / 'evaluate'}")
    ppo_zip = out / "phase2" / "ppo_model.zip"
    run_evaluation(
        EvaluationRequest(episodes=profile["episodes"], phase1=[checkpoint], ppo=[ppo_zip], out_dir=out / "evaluate")
    )
    print(f"outputs: {checkpoint}, {ppo_zip}, {out / 'phase2' / 'phase2_planner.pth'}, {out / 'evaluate'}")
    print(f'plan an instruction: python -m orchestai.plan "<instruction>" --checkpoint {checkpoint}')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
