"""Endpoints as configuration (``orchestai/configs/endpoints.yaml``): where each worker model is served, and how answers are checked."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from orchestai.configuration import require
from orchestai.paths import CONFIG_DIR

DEFAULT_ENDPOINTS_CONFIG = CONFIG_DIR / "endpoints.yaml"
CHECK_KINDS = ("nonempty", "regex", "json", "judge")


@dataclass(frozen=True)
class EndpointConfig:
    """One worker model behind an OpenAI-compatible ``/v1/chat/completions`` endpoint.

    ``api_key_env`` names the environment variable holding the key (the key itself never
    appears in a file or a log); null for servers that need none. Prices are USD per
    1,000 tokens; a response whose ``usage`` has ``cost`` (as OpenRouter-style gateways
    and the recorded-outcome backend return) is charged that instead.
    """

    model: str
    base_url: str
    served_model: str | None = None
    api_key_env: str | None = None
    price_input_per_1k: float = 0.0
    price_output_per_1k: float = 0.0
    timeout_s: float = 60.0
    max_concurrency: int = 4

    def validate(self) -> None:
        """Check value ranges."""
        require(self.base_url.startswith(("http://", "https://")), "base_url", "must start with http:// or https://")
        require(self.price_input_per_1k >= 0 and self.price_output_per_1k >= 0, "price_input_per_1k", "prices must be >= 0")
        require(self.timeout_s > 0, "timeout_s", "must be > 0")
        require(self.max_concurrency >= 1, "max_concurrency", "must be >= 1")


@dataclass(frozen=True)
class CheckConfig:
    """How an answer is judged a success: ``nonempty``, ``regex`` (``pattern`` found), ``json`` (parses) or ``judge`` (``judge_model`` says yes)."""

    kind: str = "nonempty"
    pattern: str | None = None
    judge_model: str | None = None

    def validate(self) -> None:
        """Check the kind and what it needs."""
        require(self.kind in CHECK_KINDS, "kind", f"must be one of {', '.join(CHECK_KINDS)}")
        if self.kind == "regex":
            require(self.pattern is not None, "pattern", "a regex check needs a pattern")
            try:
                re.compile(self.pattern or "")
            except re.error as error:
                raise ValueError(f"pattern: not a regular expression ({error})") from None
        if self.kind == "judge":
            require(self.judge_model is not None, "judge_model", "a judge check needs judge_model (an endpoint's model)")


@dataclass(frozen=True)
class ExecutionConfig:
    """Every endpoint, the answer check per task type (``default_check`` otherwise)."""

    endpoints: list[EndpointConfig]
    checks: dict[str, CheckConfig] = field(default_factory=dict)
    default_check: CheckConfig = field(default_factory=CheckConfig)

    def validate(self) -> None:
        """Models are unique; judge models have endpoints."""
        names = [e.model for e in self.endpoints]
        require(len(names) == len(set(names)), "endpoints", "a model is listed twice")
        require(bool(names), "endpoints", "at least one endpoint is needed")
        for check in [*self.checks.values(), self.default_check]:
            if check.kind == "judge":
                require(check.judge_model in names, "checks", f"judge model {check.judge_model!r} has no endpoint")

    def endpoint(self, model: str) -> EndpointConfig | None:
        """The endpoint of a model, if it has one."""
        return next((e for e in self.endpoints if e.model == model), None)

    def check_of(self, task_type: str) -> CheckConfig:
        """The check of a task type."""
        return self.checks.get(task_type, self.default_check)


def endpoints_pointed_at(base_url: str, path: str | Path, max_concurrency: int | None = None) -> Path:
    """The bundled ``endpoints.yaml`` with every endpoint at ``base_url`` (optionally another concurrency limit), written to ``path``."""
    text = DEFAULT_ENDPOINTS_CONFIG.read_text().replace("http://127.0.0.1:8000/v1", base_url)
    if max_concurrency is not None:
        text = text.replace("max_concurrency: 8", f"max_concurrency: {max_concurrency}")
    path = Path(path)
    path.write_text(text)
    return path
