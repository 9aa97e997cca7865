"""Training data of the planner: plans from execution logs or TaskBench files, and their replayed routing decisions."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch

from orchestai.configuration import ConfigError
from orchestai.data.examples import PlanExample, examples_from_logs
from orchestai.logs.schema import ExecutionLog
from orchestai.planner.model import PlannerVocabulary
from orchestai.planner.routing import ROUTING_KEYS
from orchestai.planner.tensors import DecisionTensors
from orchestai.planner.vocabulary import vocabulary_for_catalogue, vocabulary_for_world
from orchestai.world.world import World

DATA_FORMATS = ("orchestai", "taskbench")


@dataclass
class PlannerData:
    """Examples, the planner vocabulary, and what was skipped on loading.

    ``logs`` (execution logs only, aligned with ``examples``) and their ``world`` are
    what the routing decisions are replayed from.
    """

    examples: list[PlanExample]
    vocabulary: PlannerVocabulary
    source: str
    skipped: list[str] = field(default_factory=list)
    logs: list[ExecutionLog] | None = None
    world: World | None = None


def load_planner_data(
    data_format: str = "orchestai",
    data: str | None = None,
    world: str | None = None,
    n_logs: int = 1000,
    skip_invalid: bool = False,
) -> PlannerData:
    """Load a data set: a log file, a TaskBench-format file, or the default synthetic logs (generated if needed)."""
    if data_format == "taskbench":
        from orchestai.data.taskbench import load_taskbench

        if data is None:
            raise ConfigError("command line", "data", "--format taskbench needs --data PATH (a TaskBench-format file)")
        loaded_plans = load_taskbench(data)
        vocabulary = vocabulary_for_catalogue(
            loaded_plans.type_names, f"taskbench {data}", loaded_plans.descriptions, loaded_plans.allowed_edges
        )
        return PlannerData(loaded_plans.examples, vocabulary, data)

    from orchestai.data.generate import ensure_default_logs
    from orchestai.logs.io import load_logs

    the_world = World.load(world)
    if data is None:
        path = ensure_default_logs(n=n_logs, world=the_world)
    else:
        path = Path(data)
    loaded = load_logs(path, the_world, skip_invalid=skip_invalid)
    return PlannerData(
        examples_from_logs(loaded.logs, the_world),
        vocabulary_for_world(the_world),
        str(path),
        [str(e) for e in loaded.skipped],
        loaded.logs,
        the_world,
    )


def replayed_decisions(data: PlannerData, indices: list[int]) -> DecisionTensors | None:
    """The routing decisions of the logs at ``indices``, replayed (None without execution logs)."""
    if data.logs is None or data.world is None or not data.vocabulary.n_models:
        return None
    from orchestai.envs.log_replay import replay_decisions

    logs = [data.logs[i] for i in indices]
    # no instruction tokens: a decision reads its log's summary, computed with the plan batch
    keys = [key for key in ROUTING_KEYS if key != "instruction"]
    return DecisionTensors.of(replay_decisions(logs, data.world, keys, data.source), len(logs))


class LengthBucketBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Batches of instructions of similar length, in random order.

    Examples are shuffled, sorted by length within windows of 8 batches, cut into
    batches, and the batches shuffled: batches carry little padding, and the encoder
    drops a batch's all-padding tail, so an epoch costs about a third less.
    """

    def __init__(self, lengths: torch.Tensor, batch_size: int, generator: torch.Generator, window_batches: int = 8) -> None:
        self.lengths = lengths
        self.batch_size = batch_size
        self.generator = generator
        self.window = batch_size * window_batches

    def __iter__(self) -> Iterator[list[int]]:
        order = torch.randperm(len(self.lengths), generator=self.generator)
        batches: list[list[int]] = []
        for start in range(0, len(order), self.window):
            window = order[start : start + self.window]
            window = window[torch.argsort(self.lengths[window], stable=True)]
            batches.extend(window[i : i + self.batch_size].tolist() for i in range(0, len(window), self.batch_size))
        for b in torch.randperm(len(batches), generator=self.generator).tolist():
            yield batches[b]

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)
