"""``python -m orchestai.evaluate``: every policy on the same held-out workflows and seeds.

Runs the baselines (random, cheapest, strongest, best expected utility, the error-aware
rule, oracle), the Phase 1 planner's routing used greedily (``--phase1 PATH``) and any number of SB3
models (``--ppo PATH.zip``, ``--maskable-ppo PATH.zip``) on ``--episodes`` held-out
synthetic workflows (the env's ``workflow_split="test"``) with seeds ``--seed``,
``--seed + 1``, ... Prints success rate, mean cost, mean makespan and mean return with
95% confidence intervals and each return as a fraction of the oracle's; writes
``evaluation.csv`` and ``cost_vs_success.png`` (Pareto front marked) to ``--out-dir``.

``--env orchestai/RouterBench-v0`` runs the routing report on RouterBench's recorded
outcomes instead (:mod:`orchestai.routing.report`; flags from ``configs/routing.yaml``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from orchestai.envs import ROUTERBENCH_ENV_ID, WORKFLOW_ENV_ID
from orchestai.evaluate.baselines import BASELINES
from orchestai.evaluate.report import format_rows, pareto_front, plot_cost_vs_success, summary_rows, write_csv
from orchestai.evaluate.rollouts import evaluate_policy
from orchestai.planner.checkpoint import CheckpointError


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (``--env orchestai/RouterBench-v0``: the routing report on recorded outcomes)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--env", default=WORKFLOW_ENV_ID, choices=[WORKFLOW_ENV_ID, ROUTERBENCH_ENV_ID])
    known, _ = pre.parse_known_args(argv)
    if known.env == ROUTERBENCH_ENV_ID:
        from orchestai.routing.report import main as routing_main

        return routing_main(argv)
    parser = argparse.ArgumentParser(description="Compare routing policies on held-out synthetic workflows.")
    parser.add_argument(
        "--env", default=WORKFLOW_ENV_ID, choices=[WORKFLOW_ENV_ID, ROUTERBENCH_ENV_ID],
        help=f"{WORKFLOW_ENV_ID} (synthetic workflows) or {ROUTERBENCH_ENV_ID} (the routing report; see its --help)",
    )  # fmt: skip
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--seed", type=int, default=100_000)
    parser.add_argument(
        "--split", default="test", choices=["all", "train", "test"], help="which workflows (default: held out)"
    )
    parser.add_argument("--phase1", type=Path, action="append", default=[], help="a Phase 1 planner checkpoint")
    parser.add_argument("--ppo", type=Path, action="append", default=[], help="an SB3 PPO model (.zip)")
    parser.add_argument(
        "--maskable-ppo", type=Path, action="append", default=[], help="an sb3-contrib MaskablePPO model (.zip)"
    )
    parser.add_argument("--world", type=Path, default=None)
    parser.add_argument("--out-dir", type=Path, default=Path("runs/evaluate"))
    args = parser.parse_args(argv)
    env_kwargs = {"workflow_split": args.split}
    if args.world:
        env_kwargs["world"] = str(args.world)
    policies = [cls() for cls in BASELINES.values()]
    try:
        from orchestai.evaluate.learned import Phase1Router, Sb3Router
        from orchestai.planner.checkpoint import load_planner
        from orchestai.world.world import World

        world = World.load(args.world)
        for path in args.phase1:
            planner, _ = load_planner(path, world.names_signature())
            policies.append(Phase1Router(planner, f"phase1:{path.stem}" if len(args.phase1) > 1 else "phase1"))
        if args.ppo or args.maskable_ppo:
            from sb3_contrib import MaskablePPO
            from stable_baselines3 import PPO

            for path in args.ppo:
                policies.append(Sb3Router(PPO.load(path, device="cpu"), f"ppo:{path.parent.name}/{path.stem}"))
            for path in args.maskable_ppo:
                policies.append(
                    Sb3Router(MaskablePPO.load(path, device="cpu"), f"maskable:{path.parent.name}/{path.stem}", masked=True)
                )
    except (CheckpointError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    results = [evaluate_policy(p, args.episodes, args.seed, **env_kwargs) for p in policies]
    rows = summary_rows(results)
    print(f"{args.episodes} synthetic workflows ({args.split} split), seeds {args.seed}..{args.seed + args.episodes - 1}")
    print(format_rows(rows))
    print(f"Pareto front (cost vs success): {', '.join(pareto_front(rows))}")
    write_csv(rows, args.out_dir / "evaluation.csv")
    plot_cost_vs_success(rows, args.out_dir / "cost_vs_success.png", f"{args.episodes} held-out synthetic workflows")
    print(f"wrote {args.out_dir / 'evaluation.csv'} and {args.out_dir / 'cost_vs_success.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
