"""`RouterBenchEnv`: route real prompts to LLMs and replay what those LLMs actually did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from orchestai.envs.prompt_features import CommonPrefixStripper
from orchestai.envs.routerbench_data import (
    SPLIT_SEED,
    TEST_FRACTION,
    RouterBenchData,
    RouterBenchPrompt,
    load_routerbench_folder,
    train_test_prompts,
)
from orchestai.envs.routerbench_world import CHARS_PER_TOKEN, ROUTERBENCH_ENV, routerbench_world, tokens_of_text
from orchestai.envs.spaces import COST_WEIGHT as COST_WEIGHT_KEY
from orchestai.envs.spaces import INSTRUCTION_EMBEDDING as EMBEDDING_KEY
from orchestai.envs.spaces import UNBOUNDED
from orchestai.envs.workflow_env import WorkflowEnv, env_settings
from orchestai.world.simulator import NORMAL
from orchestai.world.workflow import WorkflowSpec
from orchestai.world.world import World

PROMPT_SPLITS = ("train", "test", "all")
PROMPT_FEATURES = ("words", "minilm")


class RouterBenchEnv(WorkflowEnv):
    """Route RouterBench prompts to 11 LLMs; success and cost are the recorded ones.

    ## Description

    Each subtask is a real prompt from a RouterBench CSV (ARC-Challenge, Winogrande,
    MBPP in ``../shared/data/routerbench``). The chosen model's success (its recorded
    0/1 score on that prompt) and dollar cost (its recorded cost) are replayed, not
    sampled. Latency is sampled from the model's measured latency distribution (LLMPerf,
    by model size class: the mapping in ``orchestai/configs/calibration.yaml`` is an assumption)
    for the number of tokens the model actually answered with (response length / 4).
    With ``prompts_per_episode=1`` (the default) an episode is classic routing: one
    prompt, one decision. With ``k > 1`` an episode is a workflow of ``k`` distinct
    prompts drawn with the episode's seed, linked in a random DAG (each prompt after
    the first depends on one earlier prompt with probability 1/2), executed as in
    ``orchestai/Workflow-v0``. Prompts are split into train and test by ``sample_id``
    (seeded, stratified by data set); the few-shot prefix each data set's training
    prompts share is stripped from the instruction the agent sees.

    ## Action Space

    ``Discrete(11)``: the LLM, in the order of the CSV columns. Every LLM can answer
    every prompt (the mask is all ones).

    ## Observation Space

    The same ``Dict`` as ``orchestai/Workflow-v0`` (see :class:`WorkflowEnv`), with
    three task types (one per data set), ``max_subtasks = prompts_per_episode`` and
    the instruction = the prompt(s) without the common prefix. With
    ``prompt_features="minilm"`` (needs the ``orchestai[embeddings]`` extra) it also has
    ``instruction_embedding``: the (384,) all-MiniLM-L6-v2 embedding of the prompt (the
    normalised mean over an episode's prompts), computed once and cached in
    ``cache_dir``. Nothing is hidden:
    no difficulty noise, overloads or outages, so ``model_health`` only counts calls
    and failures (never errors). ``model_estimates`` carry each model's mean score on the
    prompt's data set over the *training* prompts, its prices applied to the prompt's
    input tokens and to the mean answer length of the data set's *training* prompts
    (nothing derived from the answers to this prompt), and its expected latency.

    ## Rewards

    As in ``orchestai/Workflow-v0``: ``success_bonus`` when every prompt is answered
    correctly, minus ``cost_weight`` x recorded cost, minus ``latency_weight`` x
    makespan (0 by default: RouterBench records no latency). With one prompt and
    the defaults, the return is ``score - cost_weight * cost``: RouterBench's
    trade-off, swept over ``cost_weight`` to trace a router's cost–quality curve.

    ## Episode End

    Terminates when every prompt is answered correctly, or when a prompt has been
    answered wrongly ``max_retries + 1`` times (``max_retries=0`` by default: one
    answer per prompt, as in RouterBench). A retry with the same model replays the
    same recorded answer.

    ## Arguments

    ``gymnasium.make("orchestai/RouterBench-v0", data_dir=..., split="train",
    test_fraction=0.2, split_seed=0, prompts_per_episode=1, cost_weight=None (100.0),
    success_bonus=None, latency_weight=None, max_retries=None, invalid_action_penalty=None, base_world=None,
    render_mode=None, prompt_features="words", cache_dir="runs/routing/cache", cost_weight_range=None, test_data_dir=None)``: ``data_dir`` is the folder of RouterBench CSVs (required;
    rows with empty cells are skipped and listed in ``env.unwrapped.skipped``);
    ``split`` picks ``"train"``, ``"test"`` or ``"all"`` prompts (with ``test_data_dir``, a
    folder of other RouterBench CSVs, every row of ``data_dir`` trains and every row of
    that folder is the test split); ``base_world`` is the
    world YAML whose models lend their prices and latency (default
    ``orchestai/configs/world.yaml``). ``options["workflow_index"]`` at reset picks a prompt
    (single-prompt episodes). ``info`` carries ``sample_ids`` and the episode's log.

    ## Version History

    * v0: initial version; the output tokens of a prompt's estimates come from the
      training prompts of its data set (they were the mean recorded answer length of
      that very prompt, information a router cannot have before the call);
      ``cost_weight_range`` added.
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        split: str = "train",
        test_fraction: float = TEST_FRACTION,
        split_seed: int = SPLIT_SEED,
        prompts_per_episode: int = 1,
        cost_weight: float | None = None,
        success_bonus: float | None = None,
        latency_weight: float | None = None,
        max_retries: int | None = None,
        invalid_action_penalty: float | None = None,
        base_world: str | Path | None = None,
        render_mode: str | None = None,
        data: RouterBenchData | None = None,
        prompt_features: str = "words",
        cache_dir: str | Path | None = "runs/routing/cache",
        cost_weight_range: tuple[float, float] | list[float] | None = None,
        test_data_dir: str | Path | None = None,
        test_data: RouterBenchData | None = None,
    ) -> None:
        if data is None:
            if data_dir is None:
                raise ValueError("orchestai/RouterBench-v0 needs data_dir: the folder of RouterBench CSVs")
            data = load_routerbench_folder(data_dir)
        if split not in PROMPT_SPLITS:
            raise ValueError(f"split must be one of {PROMPT_SPLITS}, got {split!r}")
        if prompts_per_episode < 1:
            raise ValueError(f"prompts_per_episode must be >= 1, got {prompts_per_episode}")
        if test_data is None and test_data_dir is not None:
            test_data = load_routerbench_folder(test_data_dir)
        train, test = train_test_prompts(data, test_fraction, split_seed, test_data)
        self.skipped = list(data.skipped)
        self.prompts: list[RouterBenchPrompt] = {
            "train": train,
            "test": test,
            "all": data.prompts if test_data is None else train + test,
        }[split]
        if len(self.prompts) < prompts_per_episode:
            raise ValueError(f"split {split!r} has {len(self.prompts)} prompts, fewer than prompts_per_episode")
        self.stripper = CommonPrefixStripper().fit([p.prompt for p in train], [p.dataset for p in train])
        self.instructions = self.stripper.transform([p.prompt for p in self.prompts], [p.dataset for p in self.prompts])
        settings = env_settings(
            ROUTERBENCH_ENV,
            {
                "cost_weight": cost_weight,
                "success_bonus": success_bonus,
                "latency_weight": latency_weight,
                "max_retries": max_retries,
                "invalid_action_penalty": invalid_action_penalty,
            },
        )
        world = routerbench_world(train, data.models, World.load(base_world), prompts_per_episode, settings)
        self.prompts_per_episode = prompts_per_episode
        self._answer_tokens = dict(zip(world.type_names, world.type_output_tokens.tolist(), strict=True))
        workflows = [self._workflow_of([k], world) for k in range(len(self.prompts))] if prompts_per_episode == 1 else None
        super().__init__(
            world,
            task_source=workflows or [self._workflow_of(list(range(prompts_per_episode)), world)],
            render_mode=render_mode,
        )
        self._log_source = "routerbench-replay"
        self._cache_structures = prompts_per_episode == 1
        self._episode_prompts: list[RouterBenchPrompt] = []
        self._episode_embedding: np.ndarray | None = None
        if prompt_features not in PROMPT_FEATURES:
            raise ValueError(f"prompt_features must be one of {PROMPT_FEATURES}, got {prompt_features!r}")
        self.prompt_features = prompt_features
        self._embeddings: np.ndarray | None = None
        if prompt_features == "minilm":
            from orchestai.envs.embeddings import sentence_embeddings

            self._embeddings = sentence_embeddings(self.instructions, cache_dir)
            self.observation_space[EMBEDDING_KEY] = spaces.Box(-1.0, 1.0, (self._embeddings.shape[1],), np.float32)
        self.cost_weight_range: tuple[float, float] | None = None
        self._given_cost_weight: float | None = None
        if cost_weight_range is not None:
            low, high = (float(v) for v in cost_weight_range)
            if not (np.isfinite(low) and np.isfinite(high) and 0 < low <= high):
                raise ValueError(
                    f"cost_weight_range must be two finite numbers 0 < low <= high, got {list(cost_weight_range)}"
                )
            self.cost_weight_range = (low, high)
            self.observation_space[COST_WEIGHT_KEY] = spaces.Box(0.0, UNBOUNDED, (1,), np.float32)

    def _workflow_of(
        self, indices: list[int], world: World | None = None, parents: list[tuple[int, ...]] | None = None
    ) -> WorkflowSpec:
        world = world or self.world
        prompts = [self.prompts[k] for k in indices]
        return WorkflowSpec(
            id=prompts[0].sample_id if len(prompts) == 1 else "+".join(p.sample_id for p in prompts),
            instruction="\n".join(self.instructions[k] for k in indices),
            types=tuple(world.type_index[p.dataset] for p in prompts),
            input_tokens=tuple(tokens_of_text(p.prompt) for p in prompts),
            output_tokens=tuple(int(self._answer_tokens[p.dataset]) for p in prompts),
            parents=tuple(parents) if parents is not None else tuple(() for _ in prompts),
            descriptions=tuple(f"{p.dataset} prompt {p.sample_id}" for p in prompts),
        )

    @property
    def n_workflows(self) -> int:
        """How many prompts single-prompt episodes draw from."""
        return len(self.prompts)

    def _draw_workflow(self, index: int | None) -> tuple[WorkflowSpec, int]:
        if self.prompts_per_episode == 1:
            workflow, index = super()._draw_workflow(index)
            self._episode_prompts = [self.prompts[index]]
            self._episode_embedding = self._embedding_of([index])
            return workflow, index
        if index is not None:
            raise ValueError("options['workflow_index'] picks a prompt only when prompts_per_episode == 1")
        rng = self.np_random
        chosen = rng.choice(len(self.prompts), size=self.prompts_per_episode, replace=False).tolist()
        parents: list[tuple[int, ...]] = [()] + [
            (int(rng.integers(j)),) if rng.random() < 0.5 else () for j in range(1, len(chosen))
        ]
        self._episode_prompts = [self.prompts[k] for k in chosen]
        self._episode_embedding = self._embedding_of(chosen)
        return self._workflow_of(chosen, parents=parents), -1

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start an episode: one prompt (or a DAG of ``prompts_per_episode`` prompts)."""
        if options and options.get("workflow") is not None:
            raise ValueError("orchestai/RouterBench-v0 replays recorded prompts; options['workflow'] is not supported")
        given = (options or {}).get("cost_weight")
        if given is not None and not (isinstance(given, (int, float)) and np.isfinite(given) and given >= 0):
            raise ValueError(f"options['cost_weight'] must be a finite number >= 0, got {given!r}")
        self._given_cost_weight = given
        observation, info = super().reset(seed=seed, options=options)
        info["sample_ids"] = [p.sample_id for p in self._episode_prompts]
        return observation, info

    def _start_episode(self, workflow: WorkflowSpec, structure: Any) -> None:
        super()._start_episode(workflow, structure)
        if self.cost_weight_range is not None:  # drawn here, before the first observation is built
            if self._given_cost_weight is not None:
                self.cost_weight = float(self._given_cost_weight)
            else:
                low, high = self.cost_weight_range
                self.cost_weight = float(np.exp(self.np_random.uniform(np.log(low), np.log(high))))

    def _embedding_of(self, rows: list[int]) -> np.ndarray | None:
        """The mean of the prompts' embeddings, back to unit length (once per episode)."""
        if self._embeddings is None:
            return None
        vector = self._embeddings[rows].mean(0)
        return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)

    def _observation(self) -> dict[str, np.ndarray]:
        observation = super()._observation()
        if self._episode_embedding is not None:
            observation[EMBEDDING_KEY] = self._episode_embedding.copy()
        if self.cost_weight_range is not None:
            observation[COST_WEIGHT_KEY] = np.array([self.cost_weight], dtype=np.float32)
        return observation

    def _call(self, i: int, model: int, attempt: int) -> tuple[bool, float, float, float, bool]:
        prompt, name = self._episode_prompts[i], self._model_names[model]
        output_tokens = max(1, round(prompt.response_chars.get(name, 0) / CHARS_PER_TOKEN))
        noise = self._noise[i * (self.max_retries + 1) + attempt - 1]
        latency = self.simulator.latency_s(model, output_tokens, NORMAL, noise[1], noise[2])
        expected = self.simulator.expected_latency_s(model, output_tokens, NORMAL)
        return prompt.scores[name] >= 0.5, prompt.costs[name], latency, expected, False

    def _output_quality(self, task_type: int, model: int) -> float:
        return 1.0  # a recorded outcome does not depend on its inputs' quality
