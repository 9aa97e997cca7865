"""The world's configuration: task types, worker models, conditions, templates, env settings.

``orchestai/configs/world.yaml`` is loaded into these frozen dataclasses by :func:`load_world_config`;
an unknown key, a missing key or a value out of range raises
:class:`orchestai.configuration.ConfigError` naming the file and the key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from orchestai.configuration import load_yaml_config, require
from orchestai.paths import DEFAULT_WORLD_PATH

MODALITIES = ("text", "image", "audio")
INSTRUCTION_STYLES = ("numbered", "prose", "mixed")


@dataclass(frozen=True)
class TaskTypeConfig:
    """One kind of subtask: what it consumes and produces and how it is phrased."""

    name: str
    category: str
    input_modality: str
    output_modality: str
    input_tokens: int
    output_tokens: int
    difficulty_offset: float
    phrases: list[str]
    description: str = ""  # one line for catalogue grounding (empty: the phrases stand in)
    result: str = ""  # what prose instructions call its output ("the summary"; empty: from the name)

    @property
    def result_noun(self) -> str:
        """How prose instructions refer to this type's output."""
        return self.result or f"the {self.name.replace('_', ' ')} result"

    def validate(self) -> None:
        """Check value ranges (raises ``ValueError("field: problem")``)."""
        require(self.input_modality in MODALITIES, "input_modality", f"must be one of {MODALITIES}")
        require(self.output_modality in MODALITIES, "output_modality", f"must be one of {MODALITIES}")
        require(self.input_tokens > 0, "input_tokens", "must be > 0")
        require(self.output_tokens > 0, "output_tokens", "must be > 0")
        require(-5.0 <= self.difficulty_offset <= 5.0, "difficulty_offset", "must be within [-5, 5] (logits)")
        require(len(self.phrases) > 0, "phrases", "needs at least one phrase")


@dataclass(frozen=True)
class LatencyConfig:
    """Log-normal time to first token and per-output-token time of one model."""

    ttft_median_s: float
    ttft_log_sigma: float
    per_token_median_s: float
    per_token_log_sigma: float

    def validate(self) -> None:
        """Check value ranges (raises ``ValueError("field: problem")``)."""
        require(self.ttft_median_s > 0, "ttft_median_s", "must be > 0")
        require(self.per_token_median_s > 0, "per_token_median_s", "must be > 0")
        require(0 <= self.ttft_log_sigma <= 3, "ttft_log_sigma", "must be within [0, 3]")
        require(0 <= self.per_token_log_sigma <= 3, "per_token_log_sigma", "must be within [0, 3]")


@dataclass(frozen=True)
class WorkerModelConfig:
    """A worker model: prices, latency and skill (success probability) per capable task type."""

    name: str
    price_input_per_1k: float
    price_output_per_1k: float
    latency: LatencyConfig
    skills: dict[str, float]

    def validate(self) -> None:
        """Check value ranges (raises ``ValueError("field: problem")``)."""
        require(self.price_input_per_1k >= 0, "price_input_per_1k", "must be >= 0")
        require(self.price_output_per_1k >= 0, "price_output_per_1k", "must be >= 0")
        require(len(self.skills) > 0, "skills", "a model must be able to do at least one task type")
        for task_type, skill in self.skills.items():
            require(0.0 < skill < 1.0, f"skills.{task_type}", "must be strictly between 0 and 1")


@dataclass(frozen=True)
class ConditionsConfig:
    """Hidden per-episode variation: subtask difficulty and model load or outage."""

    difficulty_std: float
    overload_probability: float
    overload_latency_factor: float
    outage_probability: float
    outage_latency_s: float
    input_quality_sensitivity: float

    def validate(self) -> None:
        """Check value ranges (raises ``ValueError("field: problem")``)."""
        require(self.difficulty_std >= 0, "difficulty_std", "must be >= 0")
        require(0 <= self.overload_probability <= 1, "overload_probability", "must be within [0, 1]")
        require(0 <= self.outage_probability <= 1, "outage_probability", "must be within [0, 1]")
        require(
            self.overload_probability + self.outage_probability <= 1,
            "outage_probability",
            "overload_probability + outage_probability must be <= 1",
        )
        require(self.overload_latency_factor >= 1, "overload_latency_factor", "must be >= 1")
        require(self.outage_latency_s >= 0, "outage_latency_s", "must be >= 0")
        require(0 <= self.input_quality_sensitivity <= 1, "input_quality_sensitivity", "must be within [0, 1]")


@dataclass(frozen=True)
class TemplatesConfig:
    """How the synthetic workflow templates are generated."""

    count: int = 200
    seed: int = 0
    mean_subtasks: float = 20.0
    std_subtasks: float = 8.0
    min_subtasks: int = 2
    max_subtasks: int = 32
    max_layer_width: int = 4
    max_parents: int = 2
    token_log_sigma: float = 0.3
    # the mix of instruction styles: numbered steps, prose (dependencies named by what
    # they produce), mixed (prose, dependencies by step number); weights need not sum to 1
    styles: dict[str, float] = field(default_factory=lambda: {"prose": 0.6, "mixed": 0.2, "numbered": 0.2})

    def validate(self) -> None:
        """Check value ranges (raises ``ValueError("field: problem")``)."""
        require(self.count >= 1, "count", "must be >= 1")
        require(
            bool(self.styles) and set(self.styles) <= set(INSTRUCTION_STYLES),
            "styles",
            f"must name some of {', '.join(INSTRUCTION_STYLES)}",
        )
        require(
            all(w >= 0 for w in self.styles.values()) and sum(self.styles.values()) > 0,
            "styles",
            "weights must be >= 0, not all 0",
        )
        require(self.min_subtasks >= 1, "min_subtasks", "must be >= 1")
        require(self.max_subtasks >= self.min_subtasks, "max_subtasks", "must be >= min_subtasks")
        require(
            self.min_subtasks <= self.mean_subtasks <= self.max_subtasks,
            "mean_subtasks",
            "must lie within [min_subtasks, max_subtasks]",
        )
        require(self.std_subtasks >= 0, "std_subtasks", "must be >= 0")
        require(self.max_layer_width >= 1, "max_layer_width", "must be >= 1")
        require(self.max_parents >= 1, "max_parents", "must be >= 1")
        require(self.token_log_sigma >= 0, "token_log_sigma", "must be >= 0")


@dataclass(frozen=True)
class TokenizerConfig:
    """The hashed-word tokenizer shared by the env's observations and the planner."""

    vocab_size: int = 4096
    max_tokens: int = 768

    def validate(self) -> None:
        """Check value ranges (raises ``ValueError("field: problem")``)."""
        require(self.vocab_size >= 16, "vocab_size", "must be >= 16")
        require(self.max_tokens >= 8, "max_tokens", "must be >= 8")


@dataclass(frozen=True)
class EnvConfig:
    """WorkflowEnv's settings, the one home of their defaults (the ``env:`` section of a world YAML).

    Reward preferences (what a user wants: ``success_bonus``, ``cost_weight``,
    ``latency_weight``, ``invalid_action_penalty``) and episode rules (``max_retries``,
    ``cost_budget_usd``, ``invalid_action_latency_s``) are each also a ``gymnasium.make``
    kwarg; the observation scales are fixed by the world.
    """

    success_bonus: float = 1.0
    cost_weight: float = 1.0
    latency_weight: float = 0.005
    invalid_action_penalty: float = 1.0
    max_retries: int = 3
    cost_budget_usd: float | None = None
    invalid_action_latency_s: float = 10.0
    observation_cost_scale_usd: float = 1.0
    observation_time_scale_s: float = 100.0

    def validate(self) -> None:
        """Check value ranges (raises ``ValueError("field: problem")``)."""
        require(self.observation_cost_scale_usd > 0, "observation_cost_scale_usd", "must be > 0")
        require(self.observation_time_scale_s > 0, "observation_time_scale_s", "must be > 0")
        require(self.success_bonus >= 0, "success_bonus", "must be >= 0")
        require(self.cost_weight >= 0, "cost_weight", "must be >= 0")
        require(self.latency_weight >= 0, "latency_weight", "must be >= 0")
        require(self.invalid_action_penalty >= 0, "invalid_action_penalty", "must be >= 0")
        for name in ("success_bonus", "cost_weight", "latency_weight", "invalid_action_penalty", "invalid_action_latency_s"):
            require(math.isfinite(getattr(self, name)), name, "must be a finite number")
        require(
            self.cost_budget_usd is None or math.isfinite(self.cost_budget_usd), "cost_budget_usd", "must be finite or null"
        )
        require(0 <= self.max_retries <= 10, "max_retries", "must be within [0, 10]")
        require(self.cost_budget_usd is None or self.cost_budget_usd > 0, "cost_budget_usd", "must be > 0 or null")
        require(self.invalid_action_latency_s >= 0, "invalid_action_latency_s", "must be >= 0")


@dataclass(frozen=True)
class WorldConfig:
    """Everything ``orchestai/configs/world.yaml`` holds."""

    task_types: list[TaskTypeConfig]
    models: list[WorkerModelConfig]
    conditions: ConditionsConfig
    slots: dict[str, list[str]]
    templates: TemplatesConfig = field(default_factory=TemplatesConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    env: EnvConfig = field(default_factory=EnvConfig)

    def validate(self) -> None:
        """Check value ranges (raises ``ValueError("field: problem")``)."""
        type_names = [t.name for t in self.task_types]
        model_names = [m.name for m in self.models]
        require(len(type_names) == len(set(type_names)), "task_types", "task type names must be unique")
        require(len(model_names) == len(set(model_names)), "models", "model names must be unique")
        for i, model in enumerate(self.models):
            for skill_type in model.skills:
                require(skill_type in type_names, f"models[{i}].skills.{skill_type}", "unknown task type")
        for task_type in self.task_types:
            require(
                any(task_type.name in m.skills for m in self.models),
                "task_types",
                f"no model can do task type {task_type.name!r}",
            )
        for name, values in self.slots.items():
            require(len(values) > 0, f"slots.{name}", "needs at least one value")


def load_world_config(path: str | Path | None = None) -> WorldConfig:
    """Load and validate a world YAML file (the bundled ``orchestai/configs/world.yaml`` by default)."""
    return load_yaml_config(WorldConfig, path or DEFAULT_WORLD_PATH)
