"""Executing plans for real: the recorded-outcome backend over HTTP, the executor, its logs, faults, resume and agreement with the replay env."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from orchestai.envs.routerbench_data import load_routerbench_folder, split_prompts
from orchestai.execute.command import execute_command
from orchestai.execute.config import endpoints_pointed_at
from orchestai.execute.plans import routerbench_plans, write_plans
from orchestai.serve.backend import JUDGE_MODEL, RecordedBackend, ReplaySettings, prompt_hash
from orchestai.serve.local import local_replay_server
from orchestai.world.world import World

from .conftest import ROUTERBENCH_TOY_MODELS as MODELS
from .conftest import routerbench_toy_data, shared_data_or_skip

pytest.importorskip("fastapi", reason="the serve extra (fastapi, uvicorn, openai) is not installed")
pytest.importorskip("openai", reason="the serve extra (fastapi, uvicorn, openai) is not installed")


def toy_backend(**settings: object) -> RecordedBackend:
    data = routerbench_toy_data()
    for p in data.prompts:
        p.responses.update({m: f"answer of {m} to {p.sample_id}" for m in MODELS})
    return RecordedBackend(data, ReplaySettings(latency_scale=0.0, **settings))  # type: ignore[arg-type]


# ---------------------------------------------------------------- the backend without HTTP
def test_backend_answers_with_the_recorded_answer_usage_and_cost():
    backend = toy_backend()
    prompt = backend.data.prompts[3]
    status, body, delay = backend.answer({"model": MODELS[1], "messages": [{"role": "user", "content": prompt.prompt}]})
    assert status == 200 and delay == 0.0
    assert body["choices"][0]["message"]["content"] == prompt.responses[MODELS[1]]
    assert body["usage"]["cost"] == prompt.costs[MODELS[1]]
    assert body["usage"]["prompt_tokens"] == max(1, round(len(prompt.prompt) / 4))


def test_backend_names_what_it_does_not_know():
    backend = toy_backend()
    status, body, _ = backend.answer({"model": MODELS[0], "messages": [{"role": "user", "content": "never recorded"}]})
    assert status == 404 and f"sha256:{prompt_hash('never recorded')}" in body["error"]["message"]
    status, body, _ = backend.answer({"model": "gpt-5", "messages": [{"role": "user", "content": "x"}]})
    assert status == 404 and "unknown model 'gpt-5'" in body["error"]["message"]
    assert backend.answer({"messages": []})[0] == 400


def test_injected_faults_are_deterministic_and_at_the_configured_rate():
    backend = toy_backend(error_rate=0.3, down=(MODELS[2],))
    first = [backend.fault(p, m) for p in backend.data.prompts for m in MODELS[:2]]
    again = [toy_backend(error_rate=0.3, down=(MODELS[2],)).fault(p, m) for p in backend.data.prompts for m in MODELS[:2]]
    assert first == again
    assert 0.1 < np.mean([f is not None for f in first]) < 0.5
    assert {f[0] for f in first if f} <= {429, 500}
    assert all(backend.fault(p, MODELS[2]) == (503, f"model {MODELS[2]} is down (injected)") for p in backend.data.prompts)


def test_the_recorded_judge_grades_as_the_record_does():
    from orchestai.execute.client import JUDGE_TEMPLATE

    backend = toy_backend()
    for prompt in backend.data.prompts[:10]:
        for model in MODELS:
            question = JUDGE_TEMPLATE.format(question=prompt.prompt, answer=prompt.responses[model])
            _, body, _ = backend.answer({"model": JUDGE_MODEL, "messages": [{"role": "user", "content": question}]})
            assert body["choices"][0]["message"]["content"] == ("yes" if prompt.scores[model] == 1.0 else "no")


# ---------------------------------------------------------------- over HTTP
@contextlib.contextmanager
def replay_server(*flags: str) -> Iterator[str]:
    """The backend on 127.0.0.1 at a free port (a subprocess); yields its base URL and stops it."""
    with local_replay_server(shared_data_or_skip("routerbench"), *flags) as base_url:
        yield base_url


def endpoints_for(base_url: str, folder: Path) -> Path:
    """The bundled endpoints file pointed at a test server."""
    return endpoints_pointed_at(base_url, folder / "endpoints.yaml")


@pytest.fixture(scope="module")
def shared_prompts() -> tuple[Path, list]:
    folder = shared_data_or_skip("routerbench")
    data = load_routerbench_folder(folder)
    _, test = split_prompts(data.prompts, 0.2, 0)
    return folder, test


def test_official_openai_client_talks_to_the_backend(shared_prompts):
    from openai import NotFoundError, OpenAI

    _, test = shared_prompts
    with replay_server("--latency-scale", "0") as base_url:
        client = OpenAI(base_url=base_url, api_key="not-needed", max_retries=0)
        prompt = test[0]
        response = client.chat.completions.create(
            model="gpt-4-1106-preview", messages=[{"role": "user", "content": prompt.prompt}]
        )
        assert response.usage is not None and response.usage.model_extra["cost"] == pytest.approx(
            prompt.costs["gpt-4-1106-preview"]
        )
        assert response.choices[0].message.content
        with pytest.raises(NotFoundError, match="sha256:"):
            client.chat.completions.create(model="gpt-4-1106-preview", messages=[{"role": "user", "content": "not recorded"}])
        assert "recorded-judge" in [m.id for m in client.models.list()]


def run_execute(
    plans: Path, out: Path, endpoints: Path, router: str, *flags: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    command = execute_command(plans, router, endpoints, out, *flags)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_executor_agrees_with_the_replay_env_per_prompt_and_model(shared_prompts, tmp_path: Path):
    import gymnasium as gym

    folder, test = shared_prompts
    sample = test[::40]  # 12 held-out prompts of the three data sets
    plans = [p for p in routerbench_plans(folder, World.load(), "test") if p["id"] in {s.sample_id for s in sample}]
    write_plans(tmp_path / "plans.json", plans)
    env = gym.make("orchestai/RouterBench-v0", data_dir=str(folder), split="test")
    index = {p.sample_id: k for k, p in enumerate(env.unwrapped.prompts)}
    with replay_server("--latency-scale", "0") as base_url:
        endpoints = endpoints_for(base_url, tmp_path)
        for model in ("mistralai/mistral-7b-chat", "gpt-4-1106-preview", "claude-v2"):
            out = tmp_path / f"{model.replace('/', '_')}.jsonl"
            result = run_execute(tmp_path / "plans.json", out, endpoints, f"model:{model}", "--max-retries", "0")
            assert result.returncode == 0, result.stderr
            for record in read_jsonl(out):
                _, info = env.reset(options={"workflow_index": index[record["id"]]})
                _, reward, _, _, info = env.step(env.unwrapped.world.model_index[model])
                call = record["execution"][0]
                assert call["success"] == info["success"] and call["cost_usd"] == pytest.approx(info["cost_usd"], rel=1e-12)


@pytest.mark.slow
def test_faults_lose_nothing_and_retries_go_elsewhere_then_phase1_trains_on_the_logs(shared_prompts, tmp_path: Path):
    folder, _ = shared_prompts
    write_plans(tmp_path / "plans.json", routerbench_plans(folder, World.load(), "test", limit=120))
    down = "zero-one-ai/Yi-34B-Chat"
    with replay_server("--latency-scale", "0", "--error-rate", "0.1", "--down", down) as base_url:
        endpoints = endpoints_for(base_url, tmp_path)
        out = tmp_path / "logs.jsonl"
        result = run_execute(tmp_path / "plans.json", out, endpoints, "error_aware_expected_utility", "--deadline-s", "120")
        assert result.returncode == 0, result.stderr
    logs, calls = read_jsonl(out), read_jsonl(tmp_path / "logs.calls.jsonl")
    assert sorted(r["id"] for r in logs) == sorted(p["id"] for p in json.loads((tmp_path / "plans.json").read_text()))
    assert all(r["source"] == "recorded" for r in logs)
    executed = [(r["id"], a["subtask"], a["attempt"]) for r in logs for a in r["execution"]]
    journaled = [(c["workflow"], f"s{c['subtask']}", c["attempt"]) for c in calls]
    assert sorted(executed) == sorted(journaled) and len(set(journaled)) == len(journaled)  # nothing lost or twice
    errors = [c for c in calls if c["error"]]
    assert errors and all(c["error_message"] for c in errors)
    assert any(c["model"] == down and "503" in c["error_message"] for c in errors)
    by_subtask: dict[tuple, list[dict]] = {}
    for c in calls:
        by_subtask.setdefault((c["workflow"], c["subtask"]), []).append(c)
    for attempts in by_subtask.values():
        attempts.sort(key=lambda c: c["attempt"])
        for before, after in zip(attempts, attempts[1:], strict=False):
            if before["error"]:
                assert after["model"] != before["model"]  # the error-aware rule leaves a model that errored
    validate = subprocess.run(
        [sys.executable, "-m", "orchestai.data.validate", str(out)], capture_output=True, text=True, timeout=120
    )
    assert validate.returncode == 0, validate.stderr
    train = subprocess.run(
        [sys.executable, "-m", "orchestai.phase1.train", "--data", str(out), "--epochs", "1", "--out-dir", str(tmp_path / "phase1")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert train.returncode == 0, train.stderr
    assert list((tmp_path / "phase1").glob("phase1_best_model_*.pth"))


@pytest.mark.slow
def test_ctrl_c_then_resume_gives_the_records_of_an_uninterrupted_run(shared_prompts, tmp_path: Path):
    folder, _ = shared_prompts
    write_plans(tmp_path / "plans.json", routerbench_plans(folder, World.load(), "test", limit=60))

    def outcomes(path: Path) -> list[tuple]:
        return sorted(
            (r["id"], a["subtask"], a["attempt"], a["model"], a["success"], a["cost_usd"])
            for r in read_jsonl(path)
            for a in r["execution"]
        )

    with replay_server("--latency-scale", "0.05", "--error-rate", "0.1") as base_url:
        endpoints = endpoints_for(base_url, tmp_path)
        whole = tmp_path / "whole.jsonl"
        assert (
            run_execute(
                tmp_path / "plans.json", whole, endpoints, "error_aware_expected_utility", "--max-active-workflows", "4"
            ).returncode
            == 0
        )
        parts = tmp_path / "parts.jsonl"
        command = execute_command(
            tmp_path / "plans.json", "error_aware_expected_utility", endpoints, parts, "--max-active-workflows", "4"
        )
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        journal = tmp_path / "parts.calls.jsonl"
        deadline = time.time() + 120
        while time.time() < deadline and (not journal.exists() or len(journal.read_text().splitlines()) < 15):
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 130, stderr
        assert len(read_jsonl(parts)) < 60  # really interrupted
        refused = run_execute(tmp_path / "plans.json", parts, endpoints, "error_aware_expected_utility")
        assert refused.returncode == 2 and "--resume" in refused.stderr
        resumed = run_execute(
            tmp_path / "plans.json",
            parts,
            endpoints,
            "error_aware_expected_utility",
            "--resume",
            "--max-active-workflows",
            "4",
        )
        assert resumed.returncode == 0, resumed.stderr
    assert outcomes(parts) == outcomes(whole)


def test_bad_plans_and_endpoints_are_one_line_errors(tmp_path: Path):
    plans = tmp_path / "plans.json"
    plans.write_text(json.dumps([{"id": "a", "subtasks": [{"type": "no_such_type", "depends_on": []}]}]))
    result = run_execute(plans, tmp_path / "out.jsonl", tmp_path / "missing.yaml", "cheapest")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    from orchestai.execute.config import DEFAULT_ENDPOINTS_CONFIG

    result = run_execute(plans, tmp_path / "out.jsonl", DEFAULT_ENDPOINTS_CONFIG, "cheapest")
    assert result.returncode == 2 and "record 0 (id 'a')" in result.stderr and "subtasks[0].type" in result.stderr
    bad = tmp_path / "endpoints.yaml"
    bad.write_text("endpoints:\n  - {model: m, base_url: ftp://x}\n")
    plans.write_text(json.dumps({"subtasks": [{"type": "question_answering", "depends_on": []}]}))
    result = run_execute(plans, tmp_path / "out.jsonl", bad, "cheapest")
    assert result.returncode == 2 and "endpoints[0].base_url" in result.stderr
    secret = tmp_path / "secret.yaml"
    secret.write_text(
        "endpoints:\n  - {model: gpt-4-1106-preview, base_url: 'http://127.0.0.1:9/v1', api_key_env: ORCHESTAI_TEST_KEY_UNSET}\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "ORCHESTAI_TEST_KEY_UNSET"}
    result = subprocess.run(
        execute_command(plans, "cheapest", secret, tmp_path / "o.jsonl"),
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert result.returncode == 2 and "ORCHESTAI_TEST_KEY_UNSET" in result.stderr


@pytest.mark.slow
def test_a_phase1_planner_and_a_ppo_zip_route_real_calls(shared_prompts, tiny_phase1: Path, tmp_path: Path):
    folder, _ = shared_prompts
    ppo_dir = tmp_path / "ppo"
    train = subprocess.run(
        [sys.executable, "-m", "orchestai.phase2.ppo", "--timesteps", "256", "--n-envs", "2", "--n-steps", "128",
         "--batch-size", "128", "--eval-episodes", "0", "--out-dir", str(ppo_dir)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert train.returncode == 0, train.stderr
    write_plans(tmp_path / "plans.json", routerbench_plans(folder, World.load(), "test", limit=8))
    world = World.load()
    with replay_server("--latency-scale", "0") as base_url:
        endpoints = endpoints_for(base_url, tmp_path)
        for router in (str(tiny_phase1), str(ppo_dir / "ppo_model.zip")):
            out = tmp_path / f"{Path(router).stem}.jsonl"
            result = run_execute(tmp_path / "plans.json", out, endpoints, router)
            assert result.returncode == 0, result.stderr
            records = read_jsonl(out)
            assert len(records) == 8
            for record in records:
                for call in record["execution"]:
                    assert call["model"] in world.model_index


def test_an_unreachable_endpoint_is_one_line_before_any_call(tmp_path: Path):
    from orchestai.serve.local import free_port

    plans = tmp_path / "plans.json"
    plans.write_text(json.dumps({"subtasks": [{"type": "question_answering", "depends_on": [], "prompt": "hello"}]}))
    endpoints = endpoints_pointed_at(f"http://127.0.0.1:{free_port()}/v1", tmp_path / "endpoints.yaml")
    result = run_execute(plans, tmp_path / "out.jsonl", endpoints, "cheapest")
    assert result.returncode == 2 and "is unreachable" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out.jsonl").exists() and not (tmp_path / "out.calls.jsonl").exists()


@pytest.mark.slow
def test_the_deadline_stops_the_run_and_resume_finishes_it(shared_prompts, tmp_path: Path):
    folder, _ = shared_prompts
    write_plans(tmp_path / "plans.json", routerbench_plans(folder, World.load(), "test", limit=40))
    with replay_server("--latency-scale", "1.0") as base_url:  # LLMPerf latencies: about 1-10 s per call
        endpoints = endpoints_for(base_url, tmp_path)
        out = tmp_path / "logs.jsonl"
        started = time.monotonic()
        result = run_execute(
            tmp_path / "plans.json", out, endpoints, "cheapest", "--deadline-s", "2", "--max-active-workflows", "4"
        )
        assert result.returncode == 0, result.stderr
        assert "deadline of 2s reached" in result.stdout
        assert time.monotonic() - started < 30  # start-up included; the run itself stopped at 2 s
        assert len(read_jsonl(out)) < 40
        resumed = run_execute(tmp_path / "plans.json", out, endpoints, "cheapest", "--resume", "--max-active-workflows", "40")
        assert resumed.returncode == 0, resumed.stderr
    records = read_jsonl(out)
    assert sorted(r["id"] for r in records) == sorted(p["id"] for p in json.loads((tmp_path / "plans.json").read_text()))


def test_resuming_with_a_journal_of_other_plans_is_one_line(tmp_path: Path):
    from orchestai.execute.config import DEFAULT_ENDPOINTS_CONFIG

    plans = tmp_path / "plans.json"
    plans.write_text(json.dumps({"id": "a", "subtasks": [{"type": "question_answering", "depends_on": [], "prompt": "hi"}]}))
    journal = {"workflow": "a", "subtask": 5, "attempt": 1, "model": "gpt-4-1106-preview", "success": False}
    journal |= {"cost_usd": 0.0, "latency_s": 1.0, "start_s": 0.0, "end_s": 1.0, "error": True, "error_message": "x"}
    (tmp_path / "out.calls.jsonl").write_text(json.dumps(journal) + "\n")
    result = run_execute(plans, tmp_path / "out.jsonl", DEFAULT_ENDPOINTS_CONFIG, "cheapest", "--resume")
    assert result.returncode == 2 and "out.calls.jsonl: line 1" in result.stderr and "Traceback" not in result.stderr
