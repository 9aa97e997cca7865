"""`WorkflowEnv`: route each subtask of a workflow to a worker model."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from orchestai.configuration import from_mapping, to_mapping
from orchestai.envs.spaces import MODEL_HEALTH, SUBTASK_STATE, ModelEstimate, ModelHealth, SubtaskState, observation_space
from orchestai.envs.tokenizer import HashTokenizer
from orchestai.logs.schema import SCHEMA_VERSION
from orchestai.world.config import EnvConfig
from orchestai.world.simulator import DOWN, NORMAL, ExecutionSimulator
from orchestai.world.templates import WorkflowRenderer, world_templates
from orchestai.world.workflow import WorkflowSpec, subtask_feature_matrix
from orchestai.world.world import World


def env_settings(defaults: EnvConfig, given: dict[str, Any]) -> EnvConfig:
    """The world's ``env`` section with the given (non-``None``) ``gymnasium.make`` kwargs applied and validated.

    A bad kwarg raises :class:`~orchestai.configuration.ConfigError` naming it, like a bad
    key in the YAML file.
    """
    data = to_mapping(defaults)
    data.update({key: value for key, value in given.items() if value is not None})
    return from_mapping(EnvConfig, data, "gymnasium.make kwargs")


WORKFLOW_SPLITS = ("all", "train", "test")


def is_held_out(position: int) -> bool:
    """Whether the template (or recorded workflow) at ``position`` belongs to the test split: every fifth (4, 9, ...)."""
    return position % 5 == 4


def _split(items: list, split: str) -> list:
    """Every fifth workflow (:func:`is_held_out`) is held out for testing; the rest trains."""
    if split == "all":
        return items
    chosen = [item for k, item in enumerate(items) if is_held_out(k) == (split == "test")]
    if not chosen:
        raise ValueError(f"workflow_split {split!r} leaves no workflows (only {len(items)} in all)")
    return chosen


@dataclass(frozen=True)
class _Structure:
    """What reset() derives from a workflow's graph, cached per template or recorded workflow."""

    type_indices: np.ndarray
    children: tuple[tuple[int, ...], ...]
    n_parents: tuple[int, ...]
    roots: tuple[int, ...]
    types_obs: np.ndarray
    features: np.ndarray
    adjacency: np.ndarray
    initial_state: np.ndarray
    estimates: np.ndarray

    @classmethod
    def of(cls, workflow: WorkflowSpec, max_subtasks: int, estimates: np.ndarray) -> _Structure:
        n = workflow.n_subtasks
        children: list[list[int]] = [[] for _ in range(n)]
        for parent, child in workflow.edges():
            children[parent].append(child)
        n_parents = tuple(len(p) for p in workflow.parents)
        types_obs = np.zeros(max_subtasks, dtype=np.int64)
        types_obs[:n] = np.array(workflow.types) + 1
        features = subtask_feature_matrix(workflow.input_tokens, workflow.output_tokens, workflow.parents, max_subtasks)
        adjacency = np.zeros((max_subtasks, max_subtasks), dtype=np.float32)
        for parent, child in workflow.edges():
            adjacency[parent, child] = 1.0
        roots = tuple(i for i in range(n) if n_parents[i] == 0)
        state = np.zeros((max_subtasks, SUBTASK_STATE), dtype=np.float32)
        state[:n, SubtaskState.BLOCKED] = 1.0  # blocked ...
        state[list(roots), SubtaskState.READY] = 1.0  # ... except the roots, which are ready
        state[list(roots), SubtaskState.BLOCKED] = 0.0
        state[:n, SubtaskState.INPUT_QUALITY] = 1.0
        for array in (types_obs, features, adjacency, estimates):
            array.setflags(write=False)
        return cls(
            np.array(workflow.types),
            tuple(tuple(sorted(c)) for c in children),
            n_parents,
            roots,
            types_obs,
            features,
            adjacency,
            state,
            estimates,
        )


class WorkflowEnv(gym.Env[dict[str, np.ndarray], np.int64]):
    """Execute a synthetic multi-model workflow, choosing a worker model for each subtask.

    ## Description

    An episode is one workflow: typed subtasks linked by dependencies (a DAG), from the
    world's synthetic templates or from the workflows recorded in an execution-log
    file. A subtask becomes *ready* when all its parents have succeeded. Each step the
    agent chooses the worker model for the *current* subtask: the lowest-numbered ready
    subtask, or the subtask whose last attempt just failed (a retry). Outcomes come
    from :class:`~orchestai.world.simulator.ExecutionSimulator` with hidden
    per-episode variation: each subtask's difficulty and each model's condition
    (normal, overloaded = slower, down = always fails after a timeout). Subtasks on
    parallel branches run in parallel on a simulated clock: a subtask starts when its
    last parent ends, a retry when the failed attempt ends.

    ## Action Space

    ``Discrete(n_models)``: the index of the worker model in ``world.model_names``.
    :meth:`action_masks` (and the ``action_mask`` observation key) marks the models
    able to do the current subtask's type. A masked (incapable) model is still
    accepted: the call counts as a failed attempt that costs nothing and wastes
    ``invalid_action_latency_s`` seconds and pays ``invalid_action_penalty``.

    ## Observation Space

    A ``Dict`` of fixed-shape arrays, padded to ``max_subtasks`` (N) subtasks, with
    M models and T task types:

    | key | shape | meaning |
    |---|---|---|
    | ``instruction`` | (L,) int64 | hashed word ids of the instruction (0 = padding) |
    | ``subtask_types`` | (N,) int64 | task-type index + 1 (0 = no subtask) |
    | ``subtask_features`` | (N, 6) float32 | input/output tokens / 1000, parents / 4, children / 4, depth / N, present |
    | ``adjacency`` | (N, N) float32 | ``[p, c] = 1`` when c depends on p |
    | ``subtask_state`` | (N, 6) float32 | done, ready, blocked, attempts / (retries + 1), end time / time scale, input quality |
    | ``current_subtask`` | (N,) float32 | one-hot: the subtask being decided |
    | ``current_type`` | (T,) float32 | one-hot: its task type |
    | ``action_mask`` | (M,) int8 | 1 for models that can do the current subtask |
    | ``model_health`` | (M, 4) float32 | calls this episode / 10, failure rate seen, mean latency seen / expected, error rate seen (calls that timed out with an error and no charge) |
    | ``model_estimates`` | (M, 3) float32 | for the current subtask, from the world's published numbers: success probability at the type's mean difficulty and the current input quality in normal conditions (0 if incapable), expected cost / cost scale, expected latency / time scale |
    | ``progress`` | (7,) float32 | cost / cost scale, makespan / time scale, budget left (fraction), subtasks done (fraction), current attempt / (retries + 1), current input quality, attempts left for the current subtask (this one included) |

    ## Rewards

    Each call pays ``-cost_weight * cost_usd - latency_weight * (increase of the
    makespan)`` (a call to an incapable model also ``- invalid_action_penalty``), and the
    step that completes the workflow adds ``success_bonus``, so an episode's return
    equals ``success_bonus * success - cost_weight * total_cost - latency_weight *
    makespan - invalid_action_penalty * invalid_calls``, where the makespan is the
    critical path of actual durations. The last step's ``info["reward_terms"]`` gives
    the four terms; with the raw amounts in ``info`` any evaluation can recompute the
    return under other weights.

    ## Starting State

    A workflow drawn with the episode's seed (or ``options["workflow_index"]``), with
    fresh hidden difficulties and model conditions, nothing executed yet.

    ## Episode End

    Terminates with success when every subtask has succeeded; with failure when a
    subtask has failed ``max_retries + 1`` times or the cost reaches
    ``cost_budget_usd``. The registered ``TimeLimit`` (256 steps) is never reached by
    the default world (at most 32 subtasks x 4 attempts).

    ## Arguments

    ``gymnasium.make("orchestai/Workflow-v0", world=None, task_source="templates",
    success_bonus=None, cost_weight=None, latency_weight=None, max_retries=None,
    cost_budget_usd=None, invalid_action_latency_s=None, render_mode=None,
    workflow_split="all", invalid_action_penalty=None)``
    (``render_mode``: ``"ansi"`` for a text view of the DAG, ``"rgb_array"`` for a
    colour-coded strip of the subtasks' states):
    ``world`` is a world YAML path or a :class:`World` (default: the bundled
    ``orchestai/configs/world.yaml``); ``task_source`` is ``"templates"``, the path of an
    execution-log file whose workflows are replayed with fresh outcomes, or a sequence
    of :class:`WorkflowSpec`; ``workflow_split`` is ``"all"``, ``"train"`` or ``"test"``
    (every fifth template or recorded workflow is held out for testing); reward and rule
    arguments left ``None`` take the world's ``env`` section, and every kwarg is
    validated with it (a bad one raises :class:`~orchestai.configuration.ConfigError`
    naming it). ``info`` carries ``cost_usd``, ``makespan_s``, ``success``,
    ``invalid_calls`` and, on the last step, ``reward_terms`` and ``log``: the episode's
    execution-log record (schema version 1).

    ## Version History

    * v0: initial version.
    * v0, OrchestAI 0.2: a call to an incapable model also pays ``invalid_action_penalty``
      (1.0, the success bonus, by default), so ending an episode early through invalid
      calls never pays; policies that only call capable models see the same rewards as
      before. (It did not make SB3's unmasked ``MultiInputPolicy`` learn this env in
      100,000 steps: ``benchmarks/recipes.py``.)
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}
    observation_space: spaces.Dict  # type: ignore[assignment]  # narrower than gym.Env's Space

    def __init__(
        self,
        world: str | Path | World | None = None,
        task_source: str | Path | Sequence[WorkflowSpec] = "templates",
        success_bonus: float | None = None,
        cost_weight: float | None = None,
        latency_weight: float | None = None,
        max_retries: int | None = None,
        cost_budget_usd: float | None = None,
        invalid_action_latency_s: float | None = None,
        render_mode: str | None = None,
        workflow_split: str = "all",
        invalid_action_penalty: float | None = None,
    ) -> None:
        self.world = world if isinstance(world, World) else World.load(world)
        given = {
            "success_bonus": success_bonus,
            "cost_weight": cost_weight,
            "latency_weight": latency_weight,
            "invalid_action_penalty": invalid_action_penalty,
            "max_retries": max_retries,
            "cost_budget_usd": cost_budget_usd,
            "invalid_action_latency_s": invalid_action_latency_s,
        }
        settings = env_settings(self.world.config.env, given)
        self.success_bonus = settings.success_bonus
        self.cost_weight = settings.cost_weight
        self.latency_weight = settings.latency_weight
        self.invalid_action_penalty = settings.invalid_action_penalty
        self.max_retries = settings.max_retries
        self.cost_budget_usd = settings.cost_budget_usd
        self.invalid_action_latency_s = settings.invalid_action_latency_s
        defaults = settings
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode
        self._cost_scale = defaults.observation_cost_scale_usd
        self._time_scale = defaults.observation_time_scale_s
        self.simulator = ExecutionSimulator(self.world)
        self.tokenizer = HashTokenizer(self.world.config.tokenizer.vocab_size, self.world.config.tokenizer.max_tokens)
        self.max_subtasks = self.world.config.templates.max_subtasks
        self._templates = None
        self._workflows: list[WorkflowSpec] | None = None
        self.task_source = task_source
        if workflow_split not in WORKFLOW_SPLITS:
            raise ValueError(f"workflow_split must be one of {WORKFLOW_SPLITS}, got {workflow_split!r}")
        self.workflow_split = workflow_split
        if isinstance(task_source, (str, Path)) and str(task_source) == "templates":
            self._templates = _split(list(world_templates(self.world)), workflow_split)
            self._renderer = WorkflowRenderer(self.world)
        else:
            self._workflows = _split(self._load_workflows(task_source), workflow_split)

        n, m, t = self.max_subtasks, self.world.n_models, self.world.n_types
        self.action_space = spaces.Discrete(m)
        self.observation_space = observation_space(n, m, t, self.tokenizer.vocab_size, self.tokenizer.max_tokens)
        self._capable: list[list[bool]] = self.world.capable.tolist()
        self._masks = self.world.capable.astype(np.int8)
        self._type_onehots = np.eye(t, dtype=np.float32)
        self._subtask_onehots = np.eye(n, dtype=np.float32)
        self._initial_health = np.zeros((m, MODEL_HEALTH), dtype=np.float32)
        self._initial_health[:, ModelHealth.LATENCY_RATIO] = 1.0
        self._published_success = self.simulator.published_success().astype(np.float32)
        self._quality_sensitivity = self.world.config.conditions.input_quality_sensitivity
        self._structures: dict[int, _Structure] = {}
        self._cache_structures = True  # False where one index can stand for different workflows
        self._log_source = "synthetic"
        self._model_names = list(self.world.model_names)
        self.workflow: WorkflowSpec | None = None

    # ------------------------------------------------------------------ set-up
    def _load_workflows(self, source: str | Path | Sequence[WorkflowSpec]) -> list[WorkflowSpec]:
        if isinstance(source, (str, Path)):
            from orchestai.logs.io import load_logs

            workflows = [log.to_workflow(self.world) for log in load_logs(source, self.world).logs]
            origin = str(source)
        else:
            workflows = list(source)
            origin = "task_source"
        if not workflows:
            raise ValueError(f"{origin}: no workflows to run")
        for index, workflow in enumerate(workflows):
            if workflow.n_subtasks > self.max_subtasks:
                raise ValueError(
                    f"{origin}: record {index} (id {workflow.id!r}): field subtasks: {workflow.n_subtasks} subtasks, "
                    f"more than the world's templates.max_subtasks = {self.max_subtasks}"
                )
        return workflows

    @property
    def n_workflows(self) -> int:
        """How many distinct workflows (templates or recorded workflows) episodes draw from."""
        return len(self._templates) if self._templates is not None else len(self._workflows or [])

    def _draw_workflow(self, index: int | None) -> tuple[WorkflowSpec, int]:
        if index is None:
            index = int(self.np_random.integers(self.n_workflows))
        if not 0 <= index < self.n_workflows:
            raise ValueError(f"workflow_index {index} is outside [0, {self.n_workflows})")
        if self._templates is not None:
            template = self._templates[index]
            return self._renderer.render(template, self.np_random, f"synthetic-t{template.id}"), index
        assert self._workflows is not None
        return self._workflows[index], index

    # ------------------------------------------------------------------ gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start a new workflow (``options["workflow_index"]`` picks one, ``options["workflow"]`` supplies one)."""
        super().reset(seed=seed)
        options = options or {}
        workflow = options.get("workflow")
        if workflow is None:
            workflow, index = self._draw_workflow(options.get("workflow_index"))
            structure = self._structures.get(index)
            if structure is None:
                structure = _Structure.of(workflow, self.max_subtasks, self._call_estimates(workflow))
                if self._cache_structures:
                    self._structures[index] = structure
        else:
            if workflow.n_subtasks > self.max_subtasks:
                raise ValueError(f"workflow {workflow.id!r} has more than {self.max_subtasks} subtasks")
            structure = _Structure.of(workflow, self.max_subtasks, self._call_estimates(workflow))
        self._start_episode(workflow, structure)
        return self._observation(), self._info()

    def _start_episode(self, workflow: WorkflowSpec, structure: _Structure) -> None:
        self.workflow = workflow
        n, rng = workflow.n_subtasks, self.np_random
        self._n = n
        self._types = list(workflow.types)
        self._in_tokens = list(workflow.input_tokens)
        self._out_tokens = list(workflow.output_tokens)
        self._children = structure.children
        self._waiting_on = list(structure.n_parents)

        self.difficulty = self.simulator.draw_difficulties(rng, structure.type_indices)
        self.conditions = self.simulator.draw_conditions(rng)
        self._difficulty = self.difficulty.tolist()
        self._conditions = self.conditions.tolist()
        self._noise = self.simulator.draw_noise(rng, n * (self.max_retries + 1)).tolist()

        # static for the episode and never written to: copied into each observation
        self._obs_instruction = self.tokenizer.encode(workflow.instruction)
        self._obs_types = structure.types_obs
        self._obs_features = structure.features
        self._obs_adjacency = structure.adjacency
        self._state = structure.initial_state.copy()
        self._health = self._initial_health.copy()
        self._calls = [0] * self.world.n_models
        self._failures = [0] * self.world.n_models
        self._latency_ratio_sum = [0.0] * self.world.n_models
        self._errors = [0] * self.world.n_models
        self._estimates = structure.estimates.copy()  # success column rescaled as input qualities fall

        self._ready_time = [0.0] * n
        self._input_quality = [1.0] * n
        self._attempts = [0] * n
        self._done = [False] * n
        self._model_of: list[str | None] = [None] * n
        self._ready = list(structure.roots)  # sorted, hence a valid heap
        self._n_done = 0
        self.total_cost = 0.0
        self.makespan = 0.0
        self.success = False
        self.invalid_calls = 0
        self._finished = False
        self._attempt_log: list[dict[str, Any]] = []
        self._current = heapq.heappop(self._ready)

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], SupportsFloat, bool, bool, dict[str, Any]]:
        """Call model ``action`` on the current subtask and advance the simulated clock."""
        if self.workflow is None or self._finished:
            raise RuntimeError("step() called before reset() or after the episode ended; call reset()")
        model = int(action)
        if not 0 <= model < self.world.n_models:
            raise ValueError(f"action {action!r} is not a model index in [0, {self.world.n_models})")
        i = self._current
        task_type = self._types[i]
        attempt = self._attempts[i] + 1
        self._attempts[i] = attempt
        penalty = 0.0
        if self._capable[task_type][model]:
            success, cost, latency, expected, error = self._call(i, model, attempt)
        else:
            success, cost, latency, expected, error = (
                False, 0.0, self.invalid_action_latency_s, self.invalid_action_latency_s, True,
            )  # fmt: skip
            self.invalid_calls += 1
            penalty = self.invalid_action_penalty
        reward, terminated = self._record(i, model, attempt, success, cost, latency, expected, error, self._ready_time[i])
        reward -= penalty
        if success and self._n_done < self._n:
            self._current = heapq.heappop(self._ready)
        self._finished = terminated
        info = self._info()
        if terminated:
            info["log"] = self.episode_log()
            info["reward_terms"] = self.reward_terms()
        return self._observation(), reward, terminated, False, info

    def _record(
        self,
        i: int,
        model: int,
        attempt: int,
        success: bool,
        cost: float,
        latency: float,
        expected: float,
        error: bool,
        start: float,
    ) -> tuple[float, bool]:
        """Book one attempt's outcome (log, clock, health, state, children): its reward without the invalid-call penalty, and whether the episode ends."""
        task_type = self._types[i]
        end = start + latency
        self._ready_time[i] = end  # a retry starts when this attempt ends
        model_name = self._model_names[model]
        if attempt == 1:
            self._model_of[i] = model_name  # the routing choice; retries are in the execution records
        self._attempt_log.append(
            {
                "subtask": f"s{i}",
                "model": model_name,
                "attempt": attempt,
                "success": success,
                "cost_usd": cost,
                "latency_s": latency,
                "start_s": start,
                "end_s": end,
                "error": error,
            }
        )
        previous_makespan = self.makespan
        if end > self.makespan:
            self.makespan = end
        self.total_cost += cost
        reward = -self.cost_weight * cost - self.latency_weight * (self.makespan - previous_makespan)

        calls = self._calls[model] = self._calls[model] + 1
        if not success:
            self._failures[model] += 1
        if error:
            self._errors[model] += 1
        self._latency_ratio_sum[model] += latency / expected if expected > 0 else 1.0
        self._health[model] = (
            calls / 10.0, self._failures[model] / calls, self._latency_ratio_sum[model] / calls, self._errors[model] / calls,
        )  # fmt: skip

        state = self._state
        state[i, SubtaskState.ATTEMPTS] = attempt / (self.max_retries + 1)
        terminated = False
        if success:
            self._done[i] = True
            self._n_done += 1
            state[i, SubtaskState.DONE], state[i, SubtaskState.READY], state[i, SubtaskState.END_TIME] = (
                1.0,
                0.0,
                end / self._time_scale,
            )
            quality = self._output_quality(task_type, model)
            for child in self._children[i]:
                if end > self._ready_time[child]:
                    self._ready_time[child] = end
                if quality < self._input_quality[child]:
                    self._input_quality[child] = quality
                    state[child, SubtaskState.INPUT_QUALITY] = quality
                self._waiting_on[child] -= 1
                if self._waiting_on[child] == 0:
                    heapq.heappush(self._ready, child)
                    state[child, SubtaskState.READY], state[child, SubtaskState.BLOCKED] = 1.0, 0.0
                    child_quality = self._input_quality[child]
                    if child_quality < 1.0:  # final now: all its inputs are in
                        self._estimates[child, :, ModelEstimate.SUCCESS] *= 1.0 - self._quality_sensitivity * (
                            1.0 - child_quality
                        )
            if self._n_done == self._n:
                terminated = True
                self.success = True
                reward += self.success_bonus
        elif attempt > self.max_retries:
            terminated = True
        if not terminated and self.cost_budget_usd is not None and self.total_cost >= self.cost_budget_usd:
            terminated = True
        return reward, terminated

    def _call(self, i: int, model: int, attempt: int) -> tuple[bool, float, float, float, bool]:
        """Success, cost, latency, expected latency and error (a down model's time-out) of calling capable ``model`` on subtask ``i``."""
        condition = self._conditions[model]
        success, cost, latency = self.simulator.outcome(
            self._types[i],
            model,
            self._in_tokens[i],
            self._out_tokens[i],
            self._difficulty[i],
            self._input_quality[i],
            condition,
            self._noise[i * (self.max_retries + 1) + attempt - 1],
        )
        expected = self.simulator.expected_latency_s(model, self._out_tokens[i], NORMAL)
        return success, cost, latency, expected, condition == DOWN

    def _call_estimates(self, workflow: WorkflowSpec) -> np.ndarray:
        """``model_estimates`` ``(n, M, 3)`` of each subtask with perfect inputs, scaled as in the observation."""
        estimates = self.simulator.published_estimates(workflow.types, workflow.input_tokens, workflow.output_tokens)
        estimates[..., ModelEstimate.COST] /= self._cost_scale
        estimates[..., ModelEstimate.LATENCY] /= self._time_scale
        return estimates.astype(np.float32)

    def _output_quality(self, task_type: int, model: int) -> float:
        """Quality of a successful result, passed on to the subtask's children as input quality."""
        return self.simulator.output_quality(task_type, model)

    def _observation(self) -> dict[str, np.ndarray]:
        i = self._current
        task_type = self._types[i]
        budget_left = 1.0
        if self.cost_budget_usd is not None:
            budget_left = max(0.0, 1.0 - self.total_cost / self.cost_budget_usd)
        progress = np.array(
            [
                self.total_cost / self._cost_scale,
                self.makespan / self._time_scale,
                budget_left,
                self._n_done / self._n,
                self._attempts[i] / (self.max_retries + 1),
                self._input_quality[i],
                self.max_retries + 1 - self._attempts[i],
            ],
            dtype=np.float32,
        )
        return {
            "instruction": self._obs_instruction.copy(),
            "subtask_types": self._obs_types.copy(),
            "subtask_features": self._obs_features.copy(),
            "adjacency": self._obs_adjacency.copy(),
            "subtask_state": self._state.copy(),
            "current_subtask": self._subtask_onehots[i].copy(),
            "current_type": self._type_onehots[task_type].copy(),
            "action_mask": self._masks[task_type].copy(),
            "model_health": self._health.copy(),
            "model_estimates": self._estimates[i].copy(),
            "progress": progress,
        }

    def _info(self) -> dict[str, Any]:
        return {
            "cost_usd": self.total_cost,
            "makespan_s": self.makespan,
            "success": self.success,
            "invalid_calls": self.invalid_calls,
            "subtask": self._current,
            "task_type": self._types[self._current],
            "attempt": self._attempts[self._current] + (0 if self._finished else 1),
        }

    # ------------------------------------------------------------------ extras
    def action_masks(self) -> np.ndarray:
        """Boolean mask of the models able to do the current subtask (for MaskablePPO)."""
        if self.workflow is None:
            raise RuntimeError("call reset() before action_masks()")
        return self.world.capable[self._types[self._current]].copy()

    @property
    def current_subtask(self) -> int:
        """Index of the subtask the next action is for."""
        return self._current

    def current_context(self) -> dict[str, Any]:
        """What a policy knows about the current decision (used by the baselines)."""
        i = self._current
        return {
            "subtask": i,
            "task_type": self._types[i],
            "input_tokens": self._in_tokens[i],
            "output_tokens": self._out_tokens[i],
            "attempt": self._attempts[i] + 1,
            "retries_left": self.max_retries - self._attempts[i],
            "input_quality": self._input_quality[i],
            "calls": list(self._calls),
            "failures": list(self._failures),
        }

    def reward_terms(self) -> dict[str, float]:
        """The episode's return so far, term by term (their sum is the return).

        With the raw amounts in ``info`` (success, ``cost_usd``, ``makespan_s``,
        ``invalid_calls``) an evaluation can score the same episode under other weights
        (:func:`orchestai.agents.rollouts.reweighted_return`).
        """
        return {
            "success": self.success_bonus * self.success,
            "cost": -self.cost_weight * self.total_cost,
            "makespan": -self.latency_weight * self.makespan,
            "invalid_calls": -self.invalid_action_penalty * self.invalid_calls,
        }

    def hidden_state(self) -> dict[str, Any]:
        """Hidden per-episode variation of the current subtask (only the oracle may read it)."""
        return {"difficulty": self._difficulty[self._current], "conditions": list(self._conditions)}

    def attempt_times(self) -> list[dict[str, Any]]:
        """Every attempt of this episode so far, with start and end times (copies)."""
        return [dict(a) for a in self._attempt_log]

    def episode_log(self) -> dict[str, Any]:
        """The episode so far as an execution-log record (schema version 1)."""
        assert self.workflow is not None
        workflow = self.workflow
        return {
            "schema_version": SCHEMA_VERSION,
            "id": workflow.id,
            "source": self._log_source,
            "instruction": workflow.instruction,
            "subtasks": [
                {
                    "id": f"s{i}",
                    "type": self.world.type_names[workflow.types[i]],
                    "description": workflow.descriptions[i],
                    "input_tokens": workflow.input_tokens[i],
                    "output_tokens": workflow.output_tokens[i],
                    "depends_on": [f"s{p}" for p in workflow.parents[i]],
                    "model": self._model_of[i],
                }
                for i in range(workflow.n_subtasks)
            ],
            "execution": [dict(a) for a in self._attempt_log],
            "outcome": {"success": self.success, "total_cost_usd": self.total_cost, "makespan_s": self.makespan},
        }

    def render(self) -> str | np.ndarray | None:
        """The execution state: text for ``"ansi"``, a small colour-coded image for ``"rgb_array"``."""
        if self.workflow is None or self.render_mode is None:
            return None
        if self.render_mode == "rgb_array":
            return self._render_rgb()
        lines = [f"workflow {self.workflow.id}: cost ${self.total_cost:.4f}, makespan {self.makespan:.1f}s"]
        for i in range(self._n):
            if self._done[i]:
                status = "done"
            elif i == self._current and not self._finished:
                status = "NOW "
            elif self._waiting_on[i] == 0:
                status = "ready"
            else:
                status = "wait"
            parents = ",".join(f"s{p}" for p in self.workflow.parents[i]) or "-"
            model = self._model_of[i] or "-"
            lines.append(
                f"  s{i:<2} [{status:5}] {self.world.type_names[self._types[i]]:<26} <- {parents:<10} "
                f"model={model} attempts={self._attempts[i]}"
            )
        return "\n".join(lines)

    def _render_rgb(self, cell: int = 12) -> np.ndarray:
        # one column per subtask slot: top row its status, bottom row its attempts so far
        colours = {"done": (40, 170, 70), "now": (40, 110, 230), "ready": (230, 190, 40), "wait": (150, 150, 150)}
        image = np.full((2 * cell, self.max_subtasks * cell, 3), 255, dtype=np.uint8)
        for i in range(self._n):
            if self._done[i]:
                status = "done"
            elif i == self._current and not self._finished:
                status = "now"
            else:
                status = "ready" if self._waiting_on[i] == 0 else "wait"
            image[:cell, i * cell : (i + 1) * cell - 1] = colours[status]
            red = min(255, 60 * self._attempts[i])
            image[cell:, i * cell : (i + 1) * cell - 1] = (255, 255 - red, 255 - red)
        return image
