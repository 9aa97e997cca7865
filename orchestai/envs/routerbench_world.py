"""The world of RouterBench replay: one task type per data set, the 11 recorded LLMs.

Success and cost are replayed from the records, so the world's numbers only shape the
observations and the baselines' expectations: skill = the model's accuracy on the data
set's *training* prompts; prices and latency are those of the same model in the base
world (``orchestai/configs/world.yaml``: prices fitted to RouterBench's recorded costs, latency
from the LLMPerf measurement that ``orchestai/configs/calibration.yaml`` maps the model to by
size class, an assumption stated there). Nothing is hidden: no difficulty noise, no
overloads or outages.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from orchestai.configuration import load_yaml_config
from orchestai.envs.routerbench_data import RouterBenchData, RouterBenchPrompt
from orchestai.world.calibrate import DEFAULT_CALIBRATION_PATH, CalibrationConfig
from orchestai.world.config import ConditionsConfig, EnvConfig, TaskTypeConfig, TemplatesConfig, WorkerModelConfig, WorldConfig
from orchestai.world.world import World

CHARS_PER_TOKEN = 4.0  # the calibration's assumption (orchestai/configs/calibration.yaml)
SKILL_FLOOR = 0.005  # World skills are strictly within (0, 1)
# the replay env's settings (the one home of its defaults): RouterBench's trade-off
# score - cost_weight * cost, one answer per prompt (no retries), no latency term
ROUTERBENCH_ENV = EnvConfig(
    success_bonus=1.0,
    cost_weight=100.0,
    latency_weight=0.0,
    max_retries=0,
    invalid_action_latency_s=10.0,
    observation_cost_scale_usd=0.01,
    observation_time_scale_s=10.0,
)


def categories_of_datasets(data: RouterBenchData, calibration_path: str | Path = DEFAULT_CALIBRATION_PATH) -> dict[str, str]:
    """Each loaded data set's (``eval_name``'s) task-type category: ``calibration.yaml`` maps the file it came from to one."""
    category_of_file = {
        name: category for category, name in load_yaml_config(CalibrationConfig, calibration_path).category_sources.items()
    }
    unmapped = sorted(d for d, name in data.files.items() if name not in category_of_file)
    if unmapped:
        raise ValueError(f"data sets {unmapped} come from files that {calibration_path} maps to no category")
    return {dataset: category_of_file[name] for dataset, name in data.files.items()}


def category_types(world: World, category: str) -> list[int]:
    """The world's task types of a category whose input and output are text (what a RouterBench LLM answers)."""
    return [
        t
        for t, config in enumerate(world.config.task_types)
        if config.category == category and config.input_modality == "text" and config.output_modality == "text"
    ]


def tokens_of_text(text: str) -> int:
    """The tokens a text counts for (its length / ``CHARS_PER_TOKEN``, at least 1): a prompt's, known before any call, or an answer's."""
    return max(1, round(len(text) / CHARS_PER_TOKEN))


def routerbench_world(
    train: Sequence[RouterBenchPrompt],
    models: Sequence[str],
    base_world: World,
    max_subtasks: int = 1,
    env: EnvConfig = ROUTERBENCH_ENV,
) -> World:
    """A :class:`World` for replaying RouterBench prompts (``train`` sets the skills and token counts)."""
    missing = [m for m in models if m not in base_world.model_index]
    if missing:
        raise ValueError(f"models {missing} are not in the base world {base_world.source}; it holds {base_world.model_names}")
    datasets = list(dict.fromkeys(p.dataset for p in train))
    task_types = []
    skills: dict[str, dict[str, float]] = {m: {} for m in models}
    for dataset in datasets:
        rows = [p for p in train if p.dataset == dataset]
        input_tokens = max(1, round(float(np.mean([len(p.prompt) for p in rows])) / CHARS_PER_TOKEN))
        output_chars = [np.mean(list(p.response_chars.values())) for p in rows if p.response_chars]
        output_tokens = max(1, round(float(np.mean(output_chars)) / CHARS_PER_TOKEN)) if output_chars else 100
        task_types.append(
            TaskTypeConfig(dataset, dataset, "text", "text", input_tokens, output_tokens, 0.0, [f"a {dataset} prompt"])
        )
        for model in models:
            accuracy = float(np.mean([p.scores[model] for p in rows]))
            skills[model][dataset] = min(max(accuracy, SKILL_FLOOR), 1.0 - SKILL_FLOOR)
    worker_models = []
    for model in models:
        base = base_world.config.models[base_world.model_index[model]]
        worker_models.append(
            WorkerModelConfig(model, base.price_input_per_1k, base.price_output_per_1k, base.latency, skills[model])
        )
    config = WorldConfig(
        task_types=task_types,
        models=worker_models,
        conditions=ConditionsConfig(0.0, 0.0, 1.0, 0.0, 0.0, 0.0),
        slots={},
        templates=TemplatesConfig(count=1, min_subtasks=1, mean_subtasks=1, max_subtasks=max_subtasks),
        tokenizer=base_world.config.tokenizer,
        env=env,
    )
    config.validate()
    return World(config, source="routerbench replay")
