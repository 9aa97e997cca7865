"""``python -m orchestai.data.generate --n 1000 --seed 0 --out PATH``: write synthetic execution logs.

Workflows are drawn from the world's templates and executed in
:class:`~orchestai.envs.workflow_env.WorkflowEnv` (hence by the one execution
simulator) under :class:`~orchestai.agents.baselines.ExpertBehaviourPolicy`: the
best expected-utility model from the world's published numbers, avoiding models seen
to be down, with ``epsilon`` exploration. Every record is marked ``"source":
"synthetic"``. The output is the same for the same world, ``n``, ``seed`` and
``epsilon``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from orchestai.agents.baselines import ExpertBehaviourPolicy
from orchestai.envs.workflow_env import WorkflowEnv
from orchestai.logs.io import write_logs
from orchestai.paths import DEFAULT_LOGS_SEED, DEFAULT_N_LOGS, default_logs_path
from orchestai.world.world import World

DEFAULT_EPSILON = 0.1  # the behaviour policy's exploration rate
_LOG_ID = re.compile(r"^synthetic-s\d+-\d+-t(\d+)$")  # what generate_logs names a log: seed, position, template


def template_of_log(log_id: str) -> int | None:
    """The template a synthetic log of :func:`generate_logs` was rendered from (``None`` for any other id)."""
    match = _LOG_ID.match(log_id)
    return int(match.group(1)) if match else None


def default_logs_file(
    world: World, n: int = DEFAULT_N_LOGS, seed: int = DEFAULT_LOGS_SEED, epsilon: float = DEFAULT_EPSILON
) -> Path:
    """The default file of ``n`` synthetic logs of ``world`` for ``seed`` and ``epsilon`` (named by their fingerprint)."""
    key = json.dumps({"world": world.fingerprint, "seed": seed, "epsilon": epsilon}, sort_keys=True)
    return default_logs_path(n, hashlib.sha256(key.encode()).hexdigest()[:12])


def generate_logs(world: World, n: int, seed: int = 0, epsilon: float = DEFAULT_EPSILON) -> list[dict[str, Any]]:
    """Execute ``n`` synthetic workflows and return their execution-log records."""
    env = WorkflowEnv(world=world)
    policy = ExpertBehaviourPolicy(epsilon=epsilon, seed=seed + 1)
    records = []
    obs, info = env.reset(seed=seed)
    for k in range(n):
        if k:
            obs, info = env.reset()
        while True:
            obs, _reward, terminated, truncated, info = env.step(policy.act(obs, env))
            if terminated or truncated:
                break
        record = info["log"] if "log" in info else env.episode_log()
        record["id"] = f"synthetic-s{seed}-{k:06d}-{record['id'].removeprefix('synthetic-')}"
        records.append(record)
    return records


def ensure_default_logs(
    path: Path | None = None, n: int = DEFAULT_N_LOGS, seed: int = DEFAULT_LOGS_SEED, world: World | None = None
) -> Path:
    """Generate the default synthetic data set at ``path`` (default: :func:`default_logs_file`) unless it is already there."""
    world = world or World.load()
    path = default_logs_file(world, n, seed) if path is None else path
    if not path.exists():
        print(f"generating the default synthetic data set ({n} logs, seed {seed}) at {path}", file=sys.stderr)
        write_logs(path, generate_logs(world, n, seed))
    return path


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Generate synthetic OrchestAI execution logs.")
    parser.add_argument("--n", type=int, default=DEFAULT_N_LOGS, help=f"number of workflows (default {DEFAULT_N_LOGS})")
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_LOGS_SEED,
        help=f"random seed; the same seed gives the same logs (default {DEFAULT_LOGS_SEED})",
    )
    parser.add_argument(
        "--epsilon",
        type=float,
        default=DEFAULT_EPSILON,
        help=f"exploration rate of the behaviour policy, within [0, 1] (default {DEFAULT_EPSILON})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output file, .jsonl or .json (default: data/synthetic_logs_N_FINGERPRINT.jsonl, or under $ORCHESTAI_DATA_DIR; the fingerprint names the world, seed and epsilon)",
    )
    parser.add_argument(
        "--world", type=Path, default=None, help="world YAML (default: the bundled orchestai/configs/world.yaml)"
    )
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be >= 1")
    if not 0.0 <= args.epsilon <= 1.0:
        parser.error("--epsilon must be within [0, 1]")
    world = World.load(args.world)
    start = time.perf_counter()
    records = generate_logs(world, args.n, args.seed, args.epsilon)
    out = default_logs_file(world, args.n, args.seed, args.epsilon) if args.out is None else args.out
    write_logs(out, records)
    elapsed = time.perf_counter() - start
    sizes = [len(r["subtasks"]) for r in records]
    success = sum(r["outcome"]["success"] for r in records) / len(records)
    print(
        f"wrote {len(records)} synthetic logs to {out} in {elapsed:.2f}s; subtasks per workflow "
        f"mean {sum(sizes) / len(sizes):.2f} min {min(sizes)} max {max(sizes)}; success rate {success:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
