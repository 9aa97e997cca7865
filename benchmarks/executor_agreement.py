"""Agreement of the executor with ``orchestai/RouterBench-v0``: every held-out prompt sent to every model over HTTP.

Starts the recorded-outcome backend (latency 0), executes the held-out prompts of the
routing report's split once per model (router ``model:NAME``, no retries) and compares
each call's success (judged by the backend's recorded judge) and cost (the backend's
``usage.cost``) with one step of the replay env on the same prompt and model.

    python benchmarks/executor_agreement.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import gymnasium as gym

import orchestai  # noqa: F401  (registers the envs)
from orchestai.envs.routerbench_data import ROUTERBENCH_DIR, load_routerbench_folder
from orchestai.execute.command import execute_command
from orchestai.execute.config import endpoints_pointed_at
from orchestai.execute.plans import routerbench_plans, write_plans
from orchestai.serve.local import local_replay_server
from orchestai.world.world import World


def main() -> None:
    """Execute, compare, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=ROUTERBENCH_DIR, help=f"RouterBench CSVs (default {ROUTERBENCH_DIR})")
    args = parser.parse_args()
    models = load_routerbench_folder(args.data_dir).models
    env = gym.make("orchestai/RouterBench-v0", data_dir=args.data_dir, split="test")
    index = {p.sample_id: k for k, p in enumerate(env.unwrapped.prompts)}
    agree_success = agree_cost = total = 0
    worst_cost_gap = 0.0
    with tempfile.TemporaryDirectory() as folder_name, local_replay_server(args.data_dir, "--latency-scale", "0") as base_url:
        folder = Path(folder_name)
        write_plans(folder / "plans.json", routerbench_plans(args.data_dir, World.load(), "test"))
        endpoints = endpoints_pointed_at(base_url, folder / "endpoints.yaml")
        for model in models:
            out = folder / "log.jsonl"
            command = execute_command(
                folder / "plans.json", f"model:{model}", endpoints, out, "--max-retries", "0", "--overwrite"
            )
            subprocess.run(command, capture_output=True, text=True, check=True)
            for line in out.read_text().splitlines():
                record = json.loads(line)
                env.reset(options={"workflow_index": index[record["id"]]})
                _, _, _, _, info = env.step(env.unwrapped.world.model_index[model])
                call = record["execution"][0]
                total += 1
                agree_success += call["success"] == info["success"]
                gap = abs(call["cost_usd"] - info["cost_usd"])
                agree_cost += gap <= 1e-12 * max(1.0, info["cost_usd"])
                worst_cost_gap = max(worst_cost_gap, gap)
    print(f"{total} (prompt, model) pairs ({len(index)} held-out prompts x {len(models)} models):")
    print(
        f"  success equal to RouterBench-v0's: {agree_success} ({agree_success / total:.2%}); cost equal: {agree_cost} ({agree_cost / total:.2%}), largest gap ${worst_cost_gap:.2e}"
    )


if __name__ == "__main__":
    main()
