"""The observation layout of ``orchestai/Workflow-v0`` (and every env sharing it): keys, columns, spaces.

Every reader of an observation (the planner's routing, the baselines, the policies)
names a column through these constants instead of a bare index. ``OBSERVATION_LAYOUT``
is stored in planner checkpoints, so a model trained on another layout is refused with
a clear error instead of reading the wrong columns.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from gymnasium import spaces

from orchestai.world.workflow import SUBTASK_FEATURES, SubtaskFeature

OBSERVATION_LAYOUT_VERSION = 1

INSTRUCTION = "instruction"
SUBTASK_TYPES = "subtask_types"
SUBTASK_FEATURES_KEY = "subtask_features"
ADJACENCY = "adjacency"
SUBTASK_STATE_KEY = "subtask_state"
CURRENT_SUBTASK = "current_subtask"
CURRENT_TYPE = "current_type"
ACTION_MASK = "action_mask"
MODEL_HEALTH_KEY = "model_health"
MODEL_ESTIMATES_KEY = "model_estimates"
PROGRESS_KEY = "progress"
# optional (orchestai/RouterBench-v0 with prompt_features="minilm"): a sentence embedding of the instruction
INSTRUCTION_EMBEDDING = "instruction_embedding"
# optional (orchestai/RouterBench-v0 with cost_weight_range): the episode's cost weight (1/USD)
COST_WEIGHT = "cost_weight"


class SubtaskState(IntEnum):
    """Columns of ``subtask_state`` ``(N, 6)``."""

    DONE = 0
    READY = 1
    BLOCKED = 2
    ATTEMPTS = 3  # attempts so far / (retries + 1)
    END_TIME = 4  # end of its successful attempt / time scale
    INPUT_QUALITY = 5


class ModelHealth(IntEnum):
    """Columns of ``model_health`` ``(M, 4)``: what this episode has shown of each model."""

    CALLS = 0  # calls / 10
    FAILURE_RATE = 1
    LATENCY_RATIO = 2  # mean latency seen / expected
    ERROR_RATE = 3  # calls that came back with an error (time-out, incapable model)


class ModelEstimate(IntEnum):
    """Columns of ``model_estimates`` ``(M, 3)``: each model's published numbers for the current subtask."""

    SUCCESS = 0
    COST = 1  # / cost scale
    LATENCY = 2  # / time scale


class Progress(IntEnum):
    """Entries of ``progress`` ``(7,)``."""

    COST = 0  # / cost scale
    MAKESPAN = 1  # / time scale
    BUDGET_LEFT = 2  # fraction
    DONE_FRACTION = 3
    ATTEMPT = 4  # current attempt / (retries + 1)
    INPUT_QUALITY = 5
    ATTEMPTS_LEFT = 6  # for the current subtask, this one included


SUBTASK_STATE = len(SubtaskState)
MODEL_HEALTH = len(ModelHealth)
MODEL_ESTIMATES = len(ModelEstimate)
PROGRESS = len(Progress)
# upper bound of features with no natural maximum (costs, times, counts): finite, so that
# checkers and normalising wrappers do not meet infinities
UNBOUNDED = float(np.finfo(np.float32).max)

OBSERVATION_LAYOUT: dict[str, list[str]] = {
    "version": [str(OBSERVATION_LAYOUT_VERSION)],
    SUBTASK_FEATURES_KEY: [c.name for c in SubtaskFeature],
    SUBTASK_STATE_KEY: [c.name for c in SubtaskState],
    MODEL_HEALTH_KEY: [c.name for c in ModelHealth],
    MODEL_ESTIMATES_KEY: [c.name for c in ModelEstimate],
    PROGRESS_KEY: [c.name for c in Progress],
}


def observation_space(max_subtasks: int, n_models: int, n_types: int, vocab_size: int, max_tokens: int) -> spaces.Dict:
    """The ``Dict`` observation space for N subtasks, M models, T task types and the tokenizer's sizes."""
    n, m, t = max_subtasks, n_models, n_types
    return spaces.Dict(
        {
            INSTRUCTION: spaces.Box(0, vocab_size - 1, (max_tokens,), np.int64),
            SUBTASK_TYPES: spaces.Box(0, t, (n,), np.int64),
            SUBTASK_FEATURES_KEY: spaces.Box(0.0, UNBOUNDED, (n, SUBTASK_FEATURES), np.float32),
            ADJACENCY: spaces.Box(0.0, 1.0, (n, n), np.float32),
            SUBTASK_STATE_KEY: spaces.Box(0.0, UNBOUNDED, (n, SUBTASK_STATE), np.float32),
            CURRENT_SUBTASK: spaces.Box(0.0, 1.0, (n,), np.float32),
            CURRENT_TYPE: spaces.Box(0.0, 1.0, (t,), np.float32),
            ACTION_MASK: spaces.Box(0, 1, (m,), np.int8),
            MODEL_HEALTH_KEY: spaces.Box(0.0, UNBOUNDED, (m, MODEL_HEALTH), np.float32),
            MODEL_ESTIMATES_KEY: spaces.Box(0.0, UNBOUNDED, (m, MODEL_ESTIMATES), np.float32),
            PROGRESS_KEY: spaces.Box(0.0, UNBOUNDED, (PROGRESS,), np.float32),
        }
    )
