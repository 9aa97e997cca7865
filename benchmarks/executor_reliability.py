"""The executor under faults: about 1,000 calls with 10% injected errors and one model down, then Ctrl-C and --resume.

Starts the recorded-outcome backend on 127.0.0.1 (latency 0 unless ``--latency-scale``),
executes single-prompt plans of RouterBench prompts with the error-aware rule, and
checks the files: every plan logged exactly once, the journal and the log hold the same
calls (none lost or duplicated), every error recorded with its reason, each retry after
an error sent to another model, the run within its deadline. Then the same run is
interrupted with SIGINT once ``--interrupt-after`` calls are journaled and resumed with
``--resume``: its records must equal the uninterrupted run's.

    python benchmarks/executor_reliability.py --prompts 800
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from orchestai.envs.routerbench_data import ROUTERBENCH_DIR
from orchestai.execute.command import execute_command
from orchestai.execute.config import endpoints_pointed_at
from orchestai.execute.plans import routerbench_plans, write_plans
from orchestai.serve.local import local_replay_server
from orchestai.world.world import World


def read_jsonl(path: Path) -> list[dict]:
    """The records of a JSON-lines file."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def execute(plans: Path, out: Path, endpoints: Path, *flags: str) -> subprocess.Popen[str]:
    """``python -m orchestai.execute`` with the error-aware rule, started (not waited for)."""
    command = execute_command(plans, "error_aware_expected_utility", endpoints, out, *flags)
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def outcomes(log: Path) -> list[tuple]:
    """Every call of a log, as (workflow, subtask, attempt, model, success, cost)."""
    return sorted(
        (r["id"], a["subtask"], a["attempt"], a["model"], a["success"], a["cost_usd"])
        for r in read_jsonl(log)
        for a in r["execution"]
    )


def main() -> None:
    """Run, check, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=ROUTERBENCH_DIR, help=f"RouterBench CSVs (default {ROUTERBENCH_DIR})")
    parser.add_argument("--prompts", type=int, default=800, help="single-prompt plans (default 800: about 1,000 calls)")
    parser.add_argument("--error-rate", type=float, default=0.1, help="injected error rate (default 0.1)")
    parser.add_argument(
        "--down", default="zero-one-ai/Yi-34B-Chat", help="the model that is down (default zero-one-ai/Yi-34B-Chat)"
    )
    parser.add_argument("--latency-scale", type=float, default=0.0, help="the backend's latency scale (default 0)")
    parser.add_argument("--deadline-s", type=float, default=600.0, help="the run's deadline (default 600)")
    parser.add_argument("--interrupt-after", type=int, default=400, help="journaled calls before the SIGINT (default 400)")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder_name,
        local_replay_server(
            args.data_dir,
            "--latency-scale",
            str(args.latency_scale),
            "--error-rate",
            str(args.error_rate),
            "--down",
            args.down,
        ) as base_url,
    ):
        folder = Path(folder_name)
        plans = folder / "plans.json"
        write_plans(plans, routerbench_plans(args.data_dir, World.load(), "all", limit=args.prompts))
        endpoints = endpoints_pointed_at(base_url, folder / "endpoints.yaml")
        whole = folder / "whole.jsonl"
        started = time.perf_counter()
        process = execute(plans, whole, endpoints, "--deadline-s", str(args.deadline_s))
        _, stderr = process.communicate()
        seconds = time.perf_counter() - started
        if process.returncode != 0:
            raise SystemExit(f"the run failed: {stderr}")
        logs, calls = read_jsonl(whole), read_jsonl(folder / "whole.calls.jsonl")
        executed = sorted((r["id"], a["subtask"], a["attempt"]) for r in logs for a in r["execution"])
        journaled = sorted((c["workflow"], f"s{c['subtask']}", c["attempt"]) for c in calls)
        errors = [c for c in calls if c["error"]]
        logged_errors = sum(a.get("error", False) for r in logs for a in r["execution"])
        attempts: dict[tuple, list[dict]] = {}
        for c in calls:
            attempts.setdefault((c["workflow"], c["subtask"]), []).append(c)
        retries_after_error = same_model = 0
        for subtask_calls in attempts.values():
            subtask_calls.sort(key=lambda c: c["attempt"])
            for before, after in zip(subtask_calls, subtask_calls[1:], strict=False):
                if before["error"]:
                    retries_after_error += 1
                    same_model += after["model"] == before["model"]
        ids = [r["id"] for r in logs]
        print(
            f"{len(calls)} calls for {args.prompts} plans in {seconds:.1f}s (deadline {args.deadline_s:g}s), {len(errors)} errors ({len(errors) / len(calls):.1%})"
        )
        print(f"  plans logged: {len(set(ids))} of {args.prompts}, logged twice: {len(ids) - len(set(ids))}")
        print(
            f"  calls in the log {len(executed)}, in the journal {len(journaled)}, the same: {executed == journaled}, duplicated: {len(journaled) - len(set(journaled))}"
        )
        print(
            f"  errors in the journal {len(errors)} (each with its reason: {all(c['error_message'] for c in errors)}), in the log {logged_errors}"
        )
        kinds: dict[str, int] = {}
        for c in errors:
            kind = c["error_message"].split(":")[0]
            kinds[kind] = kinds.get(kind, 0) + 1
        print("  errors by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + f" (503: {args.down} is down)")
        print(f"  retries after an error: {retries_after_error}, to the same model: {same_model}")
        print(f"  succeeded: {sum(r['outcome']['success'] for r in logs)} of {len(logs)} workflows")
        parts = folder / "parts.jsonl"
        process = execute(plans, parts, endpoints)
        journal = folder / "parts.calls.jsonl"
        while process.poll() is None and (
            not journal.exists() or len(journal.read_text().splitlines()) < args.interrupt_after
        ):
            time.sleep(0.01)
        process.send_signal(signal.SIGINT)
        process.communicate()
        before = len(read_jsonl(parts))
        resumed = execute(plans, parts, endpoints, "--resume")
        _, stderr = resumed.communicate()
        if resumed.returncode != 0:
            raise SystemExit(f"the resumed run failed: {stderr}")
        print(
            f"Ctrl-C after {args.interrupt_after}+ journaled calls (exit {process.returncode}, {before} workflows logged), then --resume:"
        )
        print(
            f"  records equal to the uninterrupted run's: {outcomes(parts) == outcomes(whole)} ({len(outcomes(parts))} calls)"
        )


if __name__ == "__main__":
    main()
