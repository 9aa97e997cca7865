"""``python -m orchestai.evaluate``: every policy on the same held-out workflows and seeds.

Runs the baselines (random, cheapest, strongest, best expected utility, the error-aware
rule, oracle), the Phase 1 planner's routing used greedily (``--phase1 PATH``) and any number of SB3
models (``--ppo PATH.zip``, ``--maskable-ppo PATH.zip``) on ``--episodes`` held-out
synthetic workflows (the env's ``workflow_split="test"``) with seeds ``--seed``,
``--seed + 1``, ... Prints success rate, mean cost, mean makespan and mean return with
95% confidence intervals and each return as a fraction of the oracle's; writes
``evaluation.csv`` and ``cost_vs_success.png`` (Pareto front marked) to ``--out-dir``.

``--env orchestai/RouterBench-v0`` runs the routing report on RouterBench's recorded
outcomes instead (:mod:`orchestai.routing.report`; flags from ``orchestai/configs/routing.yaml``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from orchestai.cli import run_cli
from orchestai.configuration import ConfigError
from orchestai.envs import ROUTERBENCH_ENV_ID, WORKFLOW_ENV_ID
from orchestai.evaluate.synthetic import EvaluationRequest, run_evaluation


def _env_kwargs(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError("command line", "env_kwargs", f"not JSON ({error})") from None
    if not isinstance(value, dict):
        raise ConfigError("command line", "env_kwargs", "must be a JSON object, e.g. '{\"success_bonus\": 4.0}'")
    return value


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
        help=f"{WORKFLOW_ENV_ID} (synthetic workflows, the default) or {ROUTERBENCH_ENV_ID} (the routing report; see its --help)",
    )  # fmt: skip
    parser.add_argument("--episodes", type=int, default=500, help="episodes per policy (default 500)")
    parser.add_argument(
        "--seed", type=int, default=100_000, help="seed of the first episode; episode k uses seed + k (default 100000)"
    )
    parser.add_argument(
        "--split", default="test", choices=["all", "train", "test"], help="which workflows (default: test, the held-out fifth)"
    )
    parser.add_argument("--phase1", type=Path, action="append", default=[], help="a Phase 1 planner checkpoint (repeatable)")
    parser.add_argument("--ppo", type=Path, action="append", default=[], help="an SB3 PPO model .zip (repeatable)")
    parser.add_argument(
        "--maskable-ppo", type=Path, action="append", default=[], help="an sb3-contrib MaskablePPO model .zip (repeatable)"
    )
    parser.add_argument(
        "--world", type=Path, default=None, help="world YAML (default: the bundled orchestai/configs/world.yaml)"
    )
    parser.add_argument(
        "--env-kwargs", type=_env_kwargs, default=None,
        help="JSON object of gymnasium.make kwargs, e.g. '{\"success_bonus\": 4.0}' "
        "(default: the reward weights the PPO models were trained under, from their phase2_run.json)",
    )  # fmt: skip
    parser.add_argument("--out-dir", type=Path, default=Path("runs/evaluate"), help="output folder (default runs/evaluate)")
    parser.add_argument(
        "--allow-pickle", action="store_true",
        help="also load SB3 zips this project did not write (SB3 unpickles them: only for files you trust; default: refused)",
    )  # fmt: skip

    def command() -> int:
        args = parser.parse_args(argv)
        if args.episodes < 1:
            raise ConfigError("command line", "episodes", "must be >= 1")
        request = EvaluationRequest(
            args.episodes, args.seed, args.split, args.phase1, args.ppo, args.maskable_ppo, args.world, args.out_dir,
            args.env_kwargs, allow_pickle=args.allow_pickle,
        )  # fmt: skip
        run_evaluation(request)
        return 0

    return run_cli(command)


if __name__ == "__main__":
    raise SystemExit(main())
