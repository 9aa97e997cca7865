"""The recorded-outcome backend: RouterBench's recorded answers served as an OpenAI-compatible chat API.

``POST /v1/chat/completions`` with one of the 11 RouterBench models and a RouterBench
prompt as the last user message answers with that model's recorded answer; ``usage``
has the prompt's and the answer's token counts (length / 4, as the calibration assumes)
and ``cost``, the recorded cost in USD (the field OpenRouter-style gateways return).
Latency is sampled from the model's LLMPerf-based distribution (the replay env's,
``orchestai/configs/world.yaml``) for the answer's tokens, times ``latency_scale`` (0 for
tests). Faults are injected deterministically per (prompt, model), so a rerun meets the
same ones: ``error_rate`` of the pairs answer HTTP 429 or 500, a ``down`` model answers
503, a ``slow`` one takes ``slow_factor`` times longer. The model ``recorded-judge``
grades an answer the way the record does (see :data:`JUDGE_MODEL`). An unknown prompt is
a 404 naming the prompt's hash; an unknown model a 404 naming it.
"""

# no `from __future__ import annotations`: FastAPI reads the endpoint annotations at run time

import asyncio
import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np

from orchestai.envs.routerbench_data import RouterBenchData, RouterBenchPrompt
from orchestai.envs.routerbench_world import tokens_of_text
from orchestai.world.simulator import NORMAL, ExecutionSimulator
from orchestai.world.world import World

JUDGE_MODEL = "recorded-judge"
JUDGE_PATTERN = re.compile(r"<question>\n(?P<question>.*)\n</question>\n<answer>\n(?P<answer>.*)\n</answer>", re.S)


def prompt_hash(text: str) -> str:
    """The key a prompt is looked up by: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _unit(*parts: object) -> float:
    """A number in [0, 1) fixed by ``parts`` (deterministic faults and latency draws)."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass
class ReplaySettings:
    """Fault injection and timing of the backend."""

    latency_scale: float = 1.0
    error_rate: float = 0.0
    down: Sequence[str] = ()
    slow: Sequence[str] = ()
    slow_factor: float = 5.0
    seed: int = 0

    def validate(self, models: Sequence[str]) -> None:
        """One-line errors for settings out of range or models the data does not have."""
        if not (self.latency_scale >= 0 and np.isfinite(self.latency_scale)):
            raise ValueError(f"latency_scale must be a finite number >= 0, got {self.latency_scale}")
        if not 0 <= self.error_rate <= 1:
            raise ValueError(f"error_rate must be within [0, 1], got {self.error_rate}")
        if not self.slow_factor >= 1:
            raise ValueError(f"slow_factor must be >= 1, got {self.slow_factor}")
        unknown = [m for m in (*self.down, *self.slow) if m not in models]
        if unknown:
            raise ValueError(f"unknown models {unknown}: the data has {list(models)}")


@dataclass
class RecordedBackend:
    """The lookup tables and the answering logic, without the web framework (tested directly and through HTTP)."""

    data: RouterBenchData
    settings: ReplaySettings = field(default_factory=ReplaySettings)
    world: World | None = None

    def __post_init__(self) -> None:
        self.settings.validate(self.data.models)
        if self.data.prompts and not any(p.responses for p in self.data.prompts):
            raise ValueError("the data was read without its answers: load it with keep_responses=True")
        self.by_hash: dict[str, RouterBenchPrompt] = {prompt_hash(p.prompt): p for p in self.data.prompts}
        world = self.world or World.load()
        self._simulator = ExecutionSimulator(world)
        self._model_index = {m: world.model_index[m] for m in self.data.models if m in world.model_index}

    def latency_s(self, prompt: RouterBenchPrompt, model: str) -> float:
        """The sampled latency of ``model`` answering ``prompt`` (deterministic per pair and seed), scaled."""
        if self.settings.latency_scale == 0 or model not in self._model_index:
            return 0.0
        tokens = tokens_of_text(prompt.responses.get(model, ""))
        seed = self.settings.seed
        z1 = _normal(_unit(seed, "ttft", prompt.sample_id, model))
        z2 = _normal(_unit(seed, "token", prompt.sample_id, model))
        latency = self._simulator.latency_s(self._model_index[model], tokens, NORMAL, z1, z2)
        if model in self.settings.slow:
            latency *= self.settings.slow_factor
        return latency * self.settings.latency_scale

    def fault(self, prompt: RouterBenchPrompt, model: str) -> tuple[int, str] | None:
        """``(HTTP status, message)`` of an injected fault for this pair, or None."""
        if model in self.settings.down:
            return 503, f"model {model} is down (injected)"
        u = _unit(self.settings.seed, "fault", prompt_hash(prompt.prompt), model)
        if u < self.settings.error_rate:
            return (429, "rate limited (injected)") if u < self.settings.error_rate / 2 else (500, "server error (injected)")
        return None

    def answer(self, body: Any) -> tuple[int, dict[str, Any], float]:
        """``(HTTP status, JSON body, seconds to wait before answering)`` for a chat-completions request body."""
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not isinstance(body.get("model"), str):
            return 400, _error("the body must be a JSON object with 'model' (a string) and 'messages' (a list)"), 0.0
        model = body["model"]
        text = _last_user_text(body["messages"])
        if text is None:
            return 400, _error("no user message with text content"), 0.0
        if model == JUDGE_MODEL:
            return self._judge(text)
        if model not in self.data.models:
            return (
                404,
                _error(f"unknown model {model!r}; this backend serves {', '.join(self.data.models)}", "model_not_found"),
                0.0,
            )
        key = prompt_hash(text)
        prompt = self.by_hash.get(key)
        if prompt is None:
            return (
                404,
                _error(
                    f"no recorded answer for prompt sha256:{key} (not a RouterBench prompt of this data)", "prompt_not_found"
                ),
                0.0,
            )
        latency = self.latency_s(prompt, model)
        fault = self.fault(prompt, model)
        if fault is not None:
            return fault[0], _error(fault[1], "injected"), latency
        answer = prompt.responses.get(model, "")
        completion_tokens = tokens_of_text(answer)
        usage = {
            "prompt_tokens": tokens_of_text(prompt.prompt),
            "completion_tokens": completion_tokens,
            "total_tokens": tokens_of_text(prompt.prompt) + completion_tokens,
            "cost": prompt.costs[model],
        }
        return 200, _completion(model, answer, usage, key), latency

    def _judge(self, text: str) -> tuple[int, dict[str, Any], float]:
        """``yes`` when the answer is the recorded answer of a model whose recorded score is 1, else ``no``."""
        match = JUDGE_PATTERN.search(text)
        if match is None:
            return 400, _error("a judge request must hold <question>...</question> and <answer>...</answer>"), 0.0
        key = prompt_hash(match["question"])
        prompt = self.by_hash.get(key)
        if prompt is None:
            return 404, _error(f"no recorded answer for prompt sha256:{key}", "prompt_not_found"), 0.0
        graded = [prompt.scores[m] for m in self.data.models if prompt.responses.get(m) == match["answer"]]
        verdict = "yes" if graded and graded[0] >= 0.5 else "no"
        return (
            200,
            _completion(
                JUDGE_MODEL, verdict, {"prompt_tokens": 0, "completion_tokens": 1, "total_tokens": 1, "cost": 0.0}, key
            ),
            0.0,
        )


def _normal(u: float) -> float:
    """The standard normal quantile of ``u`` (kept off 0 and 1)."""
    return NormalDist().inv_cdf(min(max(u, 1e-12), 1 - 1e-12))


def _last_user_text(messages: list[Any]) -> str | None:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):  # content parts
                parts = [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"]
                return "".join(parts)
    return None


def _error(message: str, code: str = "invalid_request") -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "code": code}}


def _completion(model: str, content: str, usage: dict[str, Any], key: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-replay-{key}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": usage,
    }


def create_app(backend: RecordedBackend) -> Any:
    """The FastAPI app around a :class:`RecordedBackend`: ``POST /v1/chat/completions``, ``GET /v1/models``, ``GET /health``."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    app = FastAPI(title="OrchestAI recorded-outcome backend (RouterBench replay)")

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse(_error("the body is not JSON"), status_code=400)
        status, payload, delay = backend.answer(body)
        if delay > 0:
            await asyncio.sleep(delay)
        return JSONResponse(payload, status_code=status)

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        names = [*backend.data.models, JUDGE_MODEL]
        return {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "routerbench-replay"} for m in names]}

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "prompts": len(backend.by_hash)}

    return app
