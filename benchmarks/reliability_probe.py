"""Probe the CLIs with bad input, as a careless or hostile user would, and count how each case ends.

Every case is a command line (run as a subprocess, so any version of the package can be
probed through its CLIs) with the input it is handed, and the words a good error must
contain (the file and the record/field or config key). A case ends as one of:

* ``clear``: non-zero exit, no traceback, the message names what it must;
* ``misleading``: non-zero exit, no traceback, but the message misses the file or field;
* ``traceback``: a Python traceback (for a library call such as ``gymnasium.make``: an
  exception that is not the package's own error naming the key);
* ``accepted``: exit 0 on input that is wrong (silently accepted);
* ``hang``: no answer within the time-out;
* ``ran code``: a crafted file executed a command on load.

    python benchmarks/reliability_probe.py [--source DIR] [--only CLASS]

``--source`` is a source tree to probe instead of the installed package (e.g. a
``git worktree`` of an older commit); the per-class counts are printed at the end.
"""

from __future__ import annotations

import argparse
import base64
import collections
import copy
import json
import math
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Case:
    """One probe: the issue's class, a name, the command's arguments (after ``python -m``) and the words a good error names."""

    kind: str
    name: str
    args: list[str]
    needles: list[str] = field(default_factory=list)
    marker: Path | None = None  # for the crafted zip: exists afterwards iff code ran
    before: list[str] | None = None  # a command to run first (the run whose outputs the case would overwrite)
    # a library call (gymnasium.make): a raised error is right if it is the package's own and names the key
    library: bool = False


class RunsACommand:
    """Unpickling this runs ``touch <marker>``: what a crafted SB3 zip can do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 180) -> tuple[int | None, str]:
    try:
        done = subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, ""
    return done.returncode, done.stdout + done.stderr


def classify(case: Case, code: int | None, output: str) -> str:
    """How one case ended (see the module docstring)."""
    if case.marker is not None and case.marker.exists():
        return "ran code"
    if code is None:
        return "hang"
    if case.library and code not in (None, 0):
        last = output.strip().splitlines()[-1] if output.strip() else ""
        own = any(f"{kind}:" in last for kind in ("ConfigError", "UserInputError", "LogValidationError"))
        return "clear" if own and all(n in last for n in case.needles) else ("misleading" if own else "traceback")
    if "Traceback (most recent call last)" in output:
        return "traceback"
    if code == 0:
        return "accepted"
    return "clear" if all(n in output for n in case.needles) else "misleading"


def log_mutations() -> dict[str, tuple[Callable[[dict], None], str]]:
    """Ways to break one valid record, each with the field a good error names (the record must start with a success)."""

    def cost(record: dict, value: float) -> None:
        record["outcome"]["total_cost_usd"] += value - record["execution"][0]["cost_usd"]
        record["execution"][0]["cost_usd"] = value

    def more_subtasks(record: dict) -> None:
        extra = copy.deepcopy(record["subtasks"][-1])
        for k in range(40):
            record["subtasks"].append({**extra, "id": f"x{k}", "depends_on": [], "model": None})

    def out_of_order(record: dict) -> None:
        record["execution"][0]["attempt"] = 2

    def after_success(record: dict) -> None:
        first = record["execution"][0]
        assert first["success"]
        record["execution"].insert(1, {**first, "attempt": 2})
        record["outcome"]["total_cost_usd"] += first["cost_usd"]

    return {
        "cost 1e300": (lambda r: cost(r, 1e300), "execution[0].cost_usd"),
        "cost NaN": (lambda r: r["execution"][0].update(cost_usd=math.nan), "execution[0].cost_usd"),
        "negative cost": (lambda r: cost(r, -5.0), "execution[0].cost_usd"),
        "tokens 1e30": (lambda r: r["subtasks"][0].update(input_tokens=10**30), "subtasks[0].input_tokens"),
        "negative output tokens": (lambda r: r["subtasks"][0].update(output_tokens=-3), "subtasks[0].output_tokens"),
        "latency 1e30": (lambda r: r["execution"][0].update(latency_s=1e30), "execution[0].latency_s"),
        "more subtasks than the env holds": (more_subtasks, "field subtasks"),
        "outcome success contradicts the calls": (
            lambda r: r["outcome"].update(success=not r["outcome"]["success"]),
            "outcome.success",
        ),
        "makespan contradicts the calls": (
            lambda r: r["outcome"].update(makespan_s=r["outcome"]["makespan_s"] + 50),
            "outcome.makespan_s",
        ),
        "latency contradicts start and end": (
            lambda r: r["execution"][0].update(latency_s=r["execution"][0]["latency_s"] + 3),
            "execution[0].latency_s",
        ),
        "subtask model contradicts its first call": (
            lambda r: r["subtasks"][0].update(
                model="claude-v1" if r["subtasks"][0]["model"] != "claude-v1" else "gpt-4-1106-preview"
            ),
            "subtasks[0].model",
        ),
        "attempts out of order": (out_of_order, "execution[0].attempt"),
        "a call after the subtask succeeded": (after_success, "execution[1].subtask"),
        "empty instruction": (lambda r: r.update(instruction="   "), "field instruction"),
        "unknown task type": (lambda r: r["subtasks"][0].update(type="juggling"), "subtasks[0].type"),
        "unknown model": (lambda r: r["execution"][0].update(model="gpt-17"), "execution[0].model"),
        "a dependency cycle": (lambda r: r["subtasks"][0].update(depends_on=[r["subtasks"][-1]["id"]]), "depends_on"),
        "schema version": (lambda r: r.update(schema_version=7), "schema_version"),
    }


def build_cases(work: Path, logs: list[dict]) -> list[Case]:
    """Every probe case, with its input files written under ``work``."""
    cases: list[Case] = []
    good_logs = work / "good.jsonl"
    good_logs.write_text("".join(json.dumps(r) + "\n" for r in logs))

    # 4: records that contradict themselves or overflow float32 (validator, and Phase 1 training on them)
    for name, (mutate, fieldname) in log_mutations().items():
        records = copy.deepcopy(logs)
        target = next(r for r in records[3:] if r["execution"] and r["execution"][0]["success"])
        mutate(target)
        path = work / f"log_{len(cases)}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
        cases.append(Case("4 validation", f"validate: {name}", ["orchestai.data.validate", str(path)], [path.name, fieldname]))
        out = work / f"out_{len(cases)}"
        cases.append(
            Case(
                "4 validation",
                f"phase1 on: {name}",
                ["orchestai.phase1.train", "--data", str(path), "--epochs", "1", "--out-dir", str(out), "--no-progress"],
                [path.name, fieldname],
            )
        )
    # 4: reward weights and PPO coefficients
    for flags, key in ((["--ent-coef", "-1"], "ent_coef"), (["--hidden", "0"], "hidden"), (["--cost-weight", "1e300"], "cost_weight"),
                       (["--success-bonus", "-1"], "success_bonus"), (["--vf-coef", "-1"], "vf_coef")):  # fmt: skip
        out = work / f"out_{len(cases)}"
        cases.append(Case("4 validation", f"phase2 {' '.join(flags)}", ["orchestai.phase2.ppo", *flags, "--timesteps", "64", "--n-steps", "32", "--batch-size", "32", "--eval-episodes", "0", "--curve-every", "0", "--monitor-logs", "4", "--out-dir", str(out), "--no-progress"], [key]))  # fmt: skip
    for kwargs, key in (("cost_weight=-1.0", "cost_weight"), ("success_bonus=float('nan')", "success_bonus"), ("max_retries=2.7", "max_retries"),
                        ("max_retries=-1", "max_retries"), ("cost_budget_usd=0.0", "cost_budget_usd"), ("latency_weight='high'", "latency_weight")):  # fmt: skip
        script = (
            f"import gymnasium as gym, orchestai; e = gym.make('orchestai/Workflow-v0', {kwargs}); e.reset(seed=0); e.step(0)"
        )
        cases.append(Case("4 validation", f"gym.make {kwargs}", ["orchestai.probe_exec", script], [key], library=True))

    # 5: unusable files
    files = {
        "empty file": "",
        "a 5,000-digit integer": '{"schema_version": ' + "9" * 5000 + "}\n",
        "deeply nested": "[" * 100_000,
    }
    for name, text in files.items():
        path = work / f"file_{len(cases)}.jsonl"
        path.write_text(text)
        cases.append(Case("5 tracebacks", f"validate: {name}", ["orchestai.data.validate", str(path)], [path.name]))
    latin = work / "latin1.jsonl"
    latin.write_bytes('{"instruction": "caf\xe9"}\n'.encode("latin-1"))
    cases.append(Case("5 tracebacks", "validate: not UTF-8", ["orchestai.data.validate", str(latin)], [latin.name]))
    folder = work / "a_folder.jsonl"
    folder.mkdir()
    cases.append(Case("5 tracebacks", "validate: a folder", ["orchestai.data.validate", str(folder)], [folder.name]))
    cases.append(
        Case(
            "5 tracebacks",
            "phase1: data is a folder",
            ["orchestai.phase1.train", "--data", str(folder), "--out-dir", str(work / "o_f")],
            [folder.name],
        )
    )
    fifo = work / "fifo.jsonl"
    os.mkfifo(fifo)
    cases.append(Case("5 tracebacks", "validate: a FIFO", ["orchestai.data.validate", str(fifo)], [fifo.name]))
    for name, text, key in (("n_heads 0", "model: {n_heads: 0}", "n_heads"), ("5,000-digit epochs", "epochs: " + "9" * 5000, "phase1.yaml"),
                            ("nested YAML", "[" * 5000, "phase1.yaml"), ("a list for epochs", "epochs: [1]", "epochs")):  # fmt: skip
        config = work / f"config_{len(cases)}" / "phase1.yaml"
        config.parent.mkdir()
        config.write_text(text)
        cases.append(Case("5 tracebacks", f"phase1 config: {name}", ["orchestai.phase1.train", "--config", str(config), "--data", str(good_logs), "--epochs", "1", "--out-dir", str(work / f"o_{len(cases)}")], [key]))  # fmt: skip
    out_file = work / "out_is_a_file"
    out_file.write_text("x")
    cases.append(
        Case(
            "5 tracebacks",
            "phase1: out-dir is a file",
            ["orchestai.phase1.train", "--data", str(good_logs), "--epochs", "1", "--out-dir", str(out_file)],
            [out_file.name],
        )
    )
    for name, content in (("a text file", b"not a checkpoint"),):
        bad = work / "bad.pth"
        bad.write_bytes(content)
        for cli in (["orchestai.plan", "x", "--checkpoint", str(bad)], ["orchestai.evaluate", "--phase1", str(bad), "--episodes", "1", "--out-dir", str(work / "e")],
                    ["orchestai.phase2.ppo", "--init", str(bad), "--out-dir", str(work / "p2")]):  # fmt: skip
            cases.append(Case("5 tracebacks", f"{cli[0]}: checkpoint is {name}", cli, [bad.name]))
    catalogue = work / "tb" / "tool_desc.json"
    catalogue.parent.mkdir()
    catalogue.write_text('{"nodes": "everything"}')
    (catalogue.parent / "data.json").write_text(
        json.dumps([{"id": "r0", "user_request": "x", "task_nodes": [{"task": "a"}], "task_links": []}])
    )
    cases.append(Case("5 tracebacks", "phase1: malformed tool_desc.json", ["orchestai.phase1.train", "--format", "taskbench", "--data", str(catalogue.parent / "data.json"), "--out-dir", str(work / "o_tb")], ["tool_desc.json"]))  # fmt: skip
    header = "sample_id,prompt,eval_name,gpt-4-1106-preview,gpt-4-1106-preview|total_cost,claude-v1,claude-v1|total_cost\n"
    for name, row, needle in (("a negative cost", "s1,hi,quiz,1,-5,0,0.1\n", "total_cost"), ("a score of 0.5", "s1,hi,quiz,0.5,0.1,0,0.1\n", "gpt-4-1106-preview"),
                              ("a truncated row", "s1,hi,quiz,1,0.1\n", "bench.csv"), ("a NaN cost", "s1,hi,quiz,1,nan,0,0.1\n", "total_cost")):  # fmt: skip
        bench = work / f"rb_{len(cases)}"
        bench.mkdir()
        (bench / "bench.csv").write_text(header + "s0,hello,quiz,1,0.1,0,0.2\n" + row)
        cases.append(Case("4 validation" if "truncated" not in name else "5 tracebacks", f"routing report: CSV with {name}",
                          ["orchestai.evaluate", "--env", "orchestai/RouterBench-v0", "--data-dir", str(bench), "--out-dir", str(work / "rr"), "--ppo-timesteps", "0", "--embeddings", "no"], ["bench.csv", needle]))  # fmt: skip

    # 3: a second run into the folder of a first one (the first run is made when the case runs)
    reused = work / "reused"
    first = ["orchestai.phase1.train", "--data", str(good_logs), "--epochs", "1", "--out-dir", str(reused), "--no-progress"]
    cases.append(
        Case("3 overwrites", "phase1: a second run into the same --out-dir", first, [str(reused), "--overwrite"], before=first)
    )

    # 6: misleading messages
    cases.append(
        Case(
            "6 misleading",
            "evaluate: a missing zip",
            ["orchestai.evaluate", "--ppo", str(work / "nope.zip"), "--episodes", "1", "--out-dir", str(work / "e6")],
            [f"{work / 'nope.zip'}:"],  # the name as given (not nope.zip.zip)
        )
    )
    return cases


def crafted_copy(legit: Path, crafted: Path, marker: Path) -> None:
    """A copy of the SB3 zip ``legit`` whose pickled ``data`` entry runs ``touch marker`` when SB3 loads it."""
    with zipfile.ZipFile(legit) as source, zipfile.ZipFile(crafted, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "data":
                data = json.loads(content)
                payload = base64.b64encode(pickle.dumps(RunsACommand(marker))).decode()
                data["policy_class"] = {":type:": "<class 'type'>", ":serialized:": payload}
                content = json.dumps(data).encode()
            target.writestr(item, content)


def crafted_zip_case(work: Path, source_env: dict[str, str]) -> Case:
    """1: a PPO zip whose pickled ``data`` entry runs ``touch``; evaluated through the CLI."""
    marker = work / "pwned"
    folder = work / "zip"
    folder.mkdir()
    script = (
        "import gymnasium as gym, orchestai\n"
        "from stable_baselines3 import PPO\n"
        f"PPO('MultiInputPolicy', gym.make('orchestai/Workflow-v0'), n_steps=16, batch_size=16).save({str(folder / 'model.zip')!r})\n"
    )
    subprocess.run([sys.executable, "-c", script], env=source_env, check=True, capture_output=True, timeout=300)
    legit, crafted = folder / "model.zip", folder / "crafted.zip"
    crafted_copy(legit, crafted, marker)
    return Case(
        "1 code on load",
        "evaluate --ppo crafted.zip",
        ["orchestai.evaluate", "--ppo", str(crafted), "--episodes", "1", "--out-dir", str(work / "ez")],
        ["crafted.zip"],
        marker,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=None, help="a source tree to probe instead of the installed package")
    parser.add_argument("--only", default=None, help="probe one class only (e.g. '4 validation')")
    parser.add_argument("--verbose", action="store_true", help="print each case's ending")
    args = parser.parse_args()
    env = {**os.environ}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shim = work / "shim"
        shim.mkdir()
        # `python -m orchestai.probe_exec CODE`: runs CODE (the env-kwarg cases) through the same subprocess path
        (shim / "orchestai_probe_exec.py").write_text("import sys\nexec(sys.argv[1])\n")
        paths = [str(args.source)] if args.source else []
        env["PYTHONPATH"] = os.pathsep.join([*paths, str(shim), env.get("PYTHONPATH", "")])
        env["ORCHESTAI_DATA_DIR"] = str(work / "data")
        generated = work / "logs.jsonl"
        subprocess.run([sys.executable, "-m", "orchestai.data.generate", "--n", "8", "--seed", "7", "--out", str(generated)], env=env, cwd=work, check=True, capture_output=True)  # fmt: skip
        logs = [json.loads(line) for line in generated.read_text().splitlines()]
        cases = [crafted_zip_case(work, env), *build_cases(work, logs)]
        counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        for case in cases:
            if args.only and case.kind != args.only:
                continue
            command = ["orchestai_probe_exec", case.args[1]] if case.args[0] == "orchestai.probe_exec" else case.args
            if case.before is not None:
                _run(case.before, work, env)
            code, output = _run(command, work, env, timeout=30 if "FIFO" in case.name else 180)
            ending = classify(case, code, output)
            counts[case.kind][ending] += 1
            if args.verbose:
                last = output.strip().splitlines()[-1][:160] if output.strip() else ""
                print(f"{ending:10s} {case.kind:15s} {case.name}: {last}", flush=True)
    print(
        f"{'class':16s} {'cases':>5s}  "
        + "  ".join(f"{k:>10s}" for k in ("clear", "misleading", "traceback", "accepted", "hang", "ran code"))
    )
    for kind in sorted(counts):
        c = counts[kind]
        print(
            f"{kind:16s} {sum(c.values()):5d}  "
            + "  ".join(f"{c[k]:10d}" for k in ("clear", "misleading", "traceback", "accepted", "hang", "ran code"))
        )


if __name__ == "__main__":
    main()
