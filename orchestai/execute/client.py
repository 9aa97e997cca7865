"""Calls to OpenAI-compatible endpoints with the official ``openai`` client; every failure becomes an error outcome."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from dataclasses import dataclass
from typing import Any

from orchestai.execute.config import CheckConfig, EndpointConfig

JUDGE_TEMPLATE = (
    'You are grading an answer. Reply with exactly "yes" if it is correct, otherwise "no".\n'
    "<question>\n{question}\n</question>\n<answer>\n{answer}\n</answer>"
)


@dataclass(frozen=True)
class CallResult:
    """What one call gave: its text (None on error), cost, latency and, on error, why."""

    text: str | None
    cost_usd: float
    latency_s: float
    error: str | None = None


class EndpointClients:
    """One ``AsyncOpenAI`` client and one concurrency limit per endpoint."""

    def __init__(self, endpoints: list[EndpointConfig]) -> None:
        from openai import AsyncOpenAI

        self.endpoints = {e.model: e for e in endpoints}
        self.clients: dict[str, Any] = {}
        for endpoint in endpoints:
            key = os.environ.get(endpoint.api_key_env) if endpoint.api_key_env else None
            # retries are the router's decision, not the client's: max_retries=0
            self.clients[endpoint.model] = AsyncOpenAI(
                base_url=endpoint.base_url, api_key=key or "no-key", timeout=endpoint.timeout_s, max_retries=0
            )
        self.limits = {e.model: asyncio.Semaphore(e.max_concurrency) for e in endpoints}

    def missing_keys(self) -> list[str]:
        """The environment variables named by ``api_key_env`` that are not set (names only, never values)."""
        return sorted({e.api_key_env for e in self.endpoints.values() if e.api_key_env and not os.environ.get(e.api_key_env)})

    async def preflight(self) -> None:
        """Ask every distinct server for its models once: an unreachable server or a rejected key is a one-line error before any call.

        A server without ``/v1/models`` (HTTP 404) passes: only chat completions are needed.
        """
        import openai

        from orchestai.errors import UserInputError

        checked: set[str] = set()
        for model, endpoint in self.endpoints.items():
            if endpoint.base_url in checked:
                continue
            checked.add(endpoint.base_url)
            try:
                await self.clients[model].models.list()
            except openai.APIConnectionError as error:
                raise UserInputError(
                    f"endpoint {endpoint.base_url} (model {model}) is unreachable: {error}; is the server running?"
                ) from None
            except openai.AuthenticationError:
                raise UserInputError(
                    f"endpoint {endpoint.base_url} (model {model}) rejected the key in ${endpoint.api_key_env}"
                ) from None
            except openai.APIStatusError:
                pass  # e.g. no /models route: the chat calls will tell

    async def chat(self, model: str, messages: list[dict[str, str]]) -> CallResult:
        """One chat completion within the model's concurrency limit; time-outs, HTTP errors and malformed answers are errors."""
        import openai

        endpoint = self.endpoints[model]
        async with self.limits[model]:
            started = time.perf_counter()
            try:
                response = await self.clients[model].chat.completions.create(
                    model=endpoint.served_model or endpoint.model, messages=messages
                )
            except openai.APITimeoutError:
                return CallResult(None, 0.0, time.perf_counter() - started, f"time-out after {endpoint.timeout_s:g}s")
            except openai.APIStatusError as error:
                return CallResult(None, 0.0, time.perf_counter() - started, f"HTTP {error.status_code}: {_message(error)}")
            except openai.APIConnectionError as error:
                return CallResult(None, 0.0, time.perf_counter() - started, f"connection error: {error}")
            except openai.APIError as error:  # e.g. a body that is not a chat completion
                return CallResult(None, 0.0, time.perf_counter() - started, f"malformed response: {error}")
            latency = time.perf_counter() - started
        choices = getattr(response, "choices", None) or []
        text = getattr(getattr(choices[0], "message", None), "content", None) if choices else None
        if not isinstance(text, str):
            return CallResult(None, 0.0, latency, "malformed response: no message content")
        return CallResult(text, _cost(endpoint, getattr(response, "usage", None)), latency)

    async def close(self) -> None:
        """Close every client's connections."""
        for client in self.clients.values():
            await client.close()


def _message(error: Any) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])[:200]
    return str(error)[:200]


def _cost(endpoint: EndpointConfig, usage: Any) -> float:
    """``usage.cost`` when the server reports it, else the tokens times the endpoint's prices."""
    if usage is None:
        return 0.0
    extra = getattr(usage, "model_extra", None) or {}
    reported = extra.get("cost", getattr(usage, "cost", None))
    if isinstance(reported, (int, float)) and reported >= 0:
        return float(reported)
    prompt = getattr(usage, "prompt_tokens", 0) or 0
    completion = getattr(usage, "completion_tokens", 0) or 0
    return (prompt * endpoint.price_input_per_1k + completion * endpoint.price_output_per_1k) / 1000.0


@dataclass(frozen=True)
class CheckResult:
    """Whether an answer passed its check, what the check cost (a judge's call) and, when the judge failed, why."""

    success: bool
    cost_usd: float = 0.0
    error: str | None = None


async def passes_check(check: CheckConfig, question: str, answer: str, clients: EndpointClients) -> CheckResult:
    """Whether ``answer`` passes ``check``; a judge that cannot answer makes the attempt an error."""
    if check.kind == "nonempty":
        return CheckResult(bool(answer.strip()))
    if check.kind == "regex":
        return CheckResult(re.search(check.pattern or "", answer) is not None)
    if check.kind == "json":
        try:
            json.loads(answer)
        except ValueError:
            return CheckResult(False)
        return CheckResult(True)
    assert check.judge_model is not None
    prompt = JUDGE_TEMPLATE.format(question=question, answer=answer)
    verdict = await clients.chat(check.judge_model, [{"role": "user", "content": prompt}])
    if verdict.error is not None or verdict.text is None:
        return CheckResult(False, verdict.cost_usd, f"judge {check.judge_model}: {verdict.error}")
    return CheckResult(verdict.text.strip().lower().startswith("yes"), verdict.cost_usd)
