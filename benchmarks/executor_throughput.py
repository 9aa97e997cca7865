"""Executor speed against the recorded-outcome backend: its own overhead, and makespan against the critical path.

1. **Overhead** (backend latency 0): calls per second of ``python -m orchestai.execute``
   on single-prompt plans (each call is a model call plus a judge call) against the
   reference measured in the same run: the official ``openai`` async client sending
   the same requests (model call, then judge call) with the same concurrency and
   nothing else. Their ratio is the executor's efficiency.
2. **Makespan** (backend latency ``--latency-scale``): workflows of 4 RouterBench prompts
   in a diamond (s0 -> s1, s2 -> s3, answers passed on); per workflow, the executor's
   makespan against the critical path of its recorded call latencies (per subtask the
   sum of its attempts' latencies, the longest path through the DAG), with a concurrency
   limit above the calls in flight so that no call queues.

    python benchmarks/executor_throughput.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from orchestai.envs.routerbench_data import ROUTERBENCH_DIR
from orchestai.execute.client import JUDGE_TEMPLATE
from orchestai.execute.command import execute_command
from orchestai.execute.config import endpoints_pointed_at
from orchestai.execute.plans import routerbench_plans, write_plans
from orchestai.serve.local import local_replay_server
from orchestai.world.world import World

ROUTER = "model:gpt-3.5-turbo-1106"


def execute(plans: Path, out: Path, endpoints: Path) -> float:
    """Wall seconds of the executor's run as it reports them (its own clock, after start-up)."""
    command = execute_command(plans, ROUTER, endpoints, out)
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    summary = result.stdout.splitlines()[0]  # "... calls (...), $COST, SECONDSs"
    return float(summary.rsplit(", ", 1)[1].removesuffix("s"))


async def reference(base_url: str, prompts: list[str], concurrency: int) -> float:
    """Seconds for the bare client to send each prompt and then its judge request, ``concurrency`` at a time."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=base_url, api_key="no-key", max_retries=0)
    limit = asyncio.Semaphore(concurrency)

    async def one(prompt: str) -> None:
        async with limit:
            answer = await client.chat.completions.create(
                model=ROUTER.removeprefix("model:"), messages=[{"role": "user", "content": prompt}]
            )
            text = answer.choices[0].message.content or ""
            await client.chat.completions.create(
                model="recorded-judge",
                messages=[{"role": "user", "content": JUDGE_TEMPLATE.format(question=prompt, answer=text)}],
            )

    started = time.perf_counter()
    await asyncio.gather(*(one(p) for p in prompts))
    seconds = time.perf_counter() - started
    await client.close()
    return seconds


def diamond_plans(single: list[dict], count: int) -> list[dict]:
    """``count`` workflows of 4 prompts each: s0 -> s1, s0 -> s2, s1 + s2 -> s3."""
    plans = []
    for k in range(count):
        parts = single[4 * k : 4 * k + 4]
        subtasks = [dict(p["subtasks"][0], id=f"s{j}") for j, p in enumerate(parts)]
        for j, depends in enumerate(([], ["s0"], ["s0"], ["s1", "s2"])):
            subtasks[j]["depends_on"] = depends
        plans.append({"id": f"diamond-{k}", "instruction": "four recorded prompts in a diamond", "subtasks": subtasks})
    return plans


def critical_path(record: dict) -> float:
    """The longest path through the workflow's DAG, each subtask weighted by the sum of its attempts' latencies."""
    duration: dict[str, float] = {}
    for attempt in record["execution"]:
        duration[attempt["subtask"]] = duration.get(attempt["subtask"], 0.0) + attempt["latency_s"]
    finish: dict[str, float] = {}
    for subtask in record["subtasks"]:  # topological order
        finish[subtask["id"]] = max((finish[d] for d in subtask["depends_on"]), default=0.0) + duration.get(subtask["id"], 0.0)
    return max(finish.values())


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=ROUTERBENCH_DIR, help=f"RouterBench CSVs (default {ROUTERBENCH_DIR})")
    parser.add_argument("--prompts", type=int, default=400, help="single-prompt plans of the overhead part (default 400)")
    parser.add_argument("--diamonds", type=int, default=20, help="diamond workflows of the makespan part (default 20)")
    parser.add_argument(
        "--latency-scale", type=float, default=0.3, help="the backend's latency scale in the makespan part (default 0.3)"
    )
    args = parser.parse_args()
    world = World.load()
    single = routerbench_plans(args.data_dir, world, "all", limit=max(args.prompts, 4 * args.diamonds))
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        with local_replay_server(args.data_dir, "--latency-scale", "0") as base_url:
            endpoints = endpoints_pointed_at(base_url, folder / "endpoints.yaml")
            write_plans(folder / "single.json", single[: args.prompts])
            executor_s = execute(folder / "single.json", folder / "single.jsonl", endpoints)
            prompts = [p["subtasks"][0]["prompt"] for p in single[: args.prompts]]
            reference_s = asyncio.run(reference(base_url, prompts, concurrency=8))
        calls = len(prompts)
        print(f"overhead, latency 0, {calls} calls (each a model call and a judge call), concurrency 8:")
        print(
            f"  executor {calls / executor_s:.0f} calls/s ({executor_s:.2f}s), bare openai client {calls / reference_s:.0f} calls/s ({reference_s:.2f}s): ratio {reference_s / executor_s:.2f}"
        )
        with local_replay_server(args.data_dir, "--latency-scale", str(args.latency_scale)) as base_url:
            # a limit above the calls in flight: the makespan then measures the executor, not queueing
            endpoints = endpoints_pointed_at(base_url, folder / "endpoints.yaml", max_concurrency=4 * args.diamonds)
            write_plans(folder / "diamonds.json", diamond_plans(single, args.diamonds))
            execute(folder / "diamonds.json", folder / "diamonds.jsonl", endpoints)
        records = [json.loads(line) for line in (folder / "diamonds.jsonl").read_text().splitlines()]
        ratios = np.array([r["outcome"]["makespan_s"] / critical_path(r) for r in records])
        print(f"makespan, latency scale {args.latency_scale:g}, {len(records)} diamond workflows of 4 calls:")
        print(
            f"  makespan / critical path of the recorded latencies: mean {ratios.mean():.3f}, min {ratios.min():.3f}, max {ratios.max():.3f}"
        )
        print(
            f"  mean makespan {np.mean([r['outcome']['makespan_s'] for r in records]):.2f}s, mean critical path {np.mean([critical_path(r) for r in records]):.2f}s"
        )


if __name__ == "__main__":
    main()
