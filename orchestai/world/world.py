"""`World`: the indexed, array form of a :class:`WorldConfig` that everything else reads."""

from __future__ import annotations

import functools
import hashlib
import json
import math
from pathlib import Path

import numpy as np

from orchestai.configuration import to_mapping
from orchestai.paths import DEFAULT_WORLD_PATH
from orchestai.world.config import WorldConfig, load_world_config


class World:
    """Task types and worker models with integer indices and numpy lookup tables.

    ``skill[t, m]`` is model ``m``'s success probability on task type ``t`` at zero
    difficulty (0 where ``capable[t, m]`` is False); prices are USD per token.
    """

    def __init__(self, config: WorldConfig, source: str = "<memory>") -> None:
        self.config = config
        self.source = source
        self.type_names: list[str] = [t.name for t in config.task_types]
        self.model_names: list[str] = [m.name for m in config.models]
        self.type_index: dict[str, int] = {name: i for i, name in enumerate(self.type_names)}
        self.model_index: dict[str, int] = {name: i for i, name in enumerate(self.model_names)}
        n_types, n_models = len(self.type_names), len(self.model_names)
        self.skill = np.zeros((n_types, n_models), dtype=np.float64)
        for m, model in enumerate(config.models):
            for type_name, value in model.skills.items():
                self.skill[self.type_index[type_name], m] = value
        self.capable = self.skill > 0
        self.price_input = np.array([m.price_input_per_1k / 1000.0 for m in config.models])
        self.price_output = np.array([m.price_output_per_1k / 1000.0 for m in config.models])
        self.ttft_median = np.array([m.latency.ttft_median_s for m in config.models])
        self.ttft_log_sigma = np.array([m.latency.ttft_log_sigma for m in config.models])
        self.per_token_median = np.array([m.latency.per_token_median_s for m in config.models])
        self.per_token_log_sigma = np.array([m.latency.per_token_log_sigma for m in config.models])
        self.type_input_tokens = np.array([t.input_tokens for t in config.task_types])
        self.type_output_tokens = np.array([t.output_tokens for t in config.task_types])
        self.difficulty_offset = np.array([t.difficulty_offset for t in config.task_types])
        for table in vars(self).values():
            if isinstance(table, np.ndarray):
                table.setflags(write=False)  # a World is shared by every env made from the same file

    @classmethod
    def load(cls, path: str | Path | None = None) -> World:
        """Load a world from YAML (the bundled ``orchestai/configs/world.yaml`` by default).

        Read once per file version: every env made from the same unchanged file shares one
        (read-only) World, instead of parsing the YAML again.
        """
        resolved = Path(path).resolve() if path else DEFAULT_WORLD_PATH
        try:
            stat = resolved.stat()
            version: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            version = None  # let loading report the problem
        if version is None:
            return cls(load_world_config(path), source=str(path) if path else "orchestai/configs/world.yaml")
        return _load_cached(str(resolved), str(path) if path else "orchestai/configs/world.yaml", version)

    @property
    def n_types(self) -> int:
        """Number of task types."""
        return len(self.type_names)

    @property
    def n_models(self) -> int:
        """Number of worker models (the env's action count)."""
        return len(self.model_names)

    def expected_cost(self, model: int, input_tokens: float, output_tokens: float) -> float:
        """Expected USD cost of one call of ``model`` (cost does not depend on luck)."""
        return float(self.price_input[model] * input_tokens + self.price_output[model] * output_tokens)

    def expected_latency(self, model: int, output_tokens: float) -> float:
        """Mean seconds of one call under normal load (means of the two log-normals)."""
        ttft = self.ttft_median[model] * math.exp(0.5 * self.ttft_log_sigma[model] ** 2)
        per_token = self.per_token_median[model] * math.exp(0.5 * self.per_token_log_sigma[model] ** 2)
        return float(ttft + output_tokens * per_token)

    @functools.cached_property
    def fingerprint(self) -> str:
        """A short hash of everything in the world's configuration: data generated from another world has another."""
        text = json.dumps(to_mapping(self.config), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def names_signature(self) -> dict[str, list[str]]:
        """The task-type and model names, as stored in checkpoints to detect world mismatches."""
        return {"task_types": list(self.type_names), "models": list(self.model_names)}


@functools.lru_cache(maxsize=16)
def _load_cached(resolved: str, source: str, version: tuple[int, int]) -> World:
    return World(load_world_config(resolved), source=source)
