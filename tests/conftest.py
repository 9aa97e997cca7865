"""Shared fixtures: the bundled world, and a small synthetic log file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from orchestai.data.generate import generate_logs
from orchestai.envs.routerbench_data import RouterBenchData, RouterBenchPrompt
from orchestai.logs.io import write_logs
from orchestai.paths import DATA_DIR_VARIABLE
from orchestai.phase1 import train as phase1_cli
from orchestai.world.world import World

from .reliability_helpers import phase1_flags

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def generated_data_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Generated data sets (the default synthetic logs) go to a temporary folder, never into the repository.

    Set in ``os.environ`` so that CLI subprocesses started by the tests inherit it.
    """
    folder = tmp_path_factory.mktemp("generated_data")
    previous = os.environ.get(DATA_DIR_VARIABLE)
    os.environ[DATA_DIR_VARIABLE] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop(DATA_DIR_VARIABLE, None)
    else:
        os.environ[DATA_DIR_VARIABLE] = previous


@pytest.fixture(scope="session")
def world() -> World:
    return World.load()


@pytest.fixture(scope="session")
def small_logs(world: World) -> list[dict]:
    return generate_logs(world, n=40, seed=7)


@pytest.fixture(scope="session")
def small_log_file(tmp_path_factory: pytest.TempPathFactory, small_logs: list[dict]) -> Path:
    path = tmp_path_factory.mktemp("logs") / "small.jsonl"
    write_logs(path, small_logs)
    return path


def shared_data_or_skip(*parts: str) -> Path:
    """The path under ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"public data not available at {path} (../shared/data is absent on this machine)")
    return path


ROUTERBENCH_TOY_MODELS = ["mistralai/mistral-7b-chat", "claude-instant-v1", "gpt-4-1106-preview"]
SHOT = "Question: is the sky blue? Answer: yes. Now the real question. "


def routerbench_toy_data(n: int = 30) -> RouterBenchData:
    """A toy RouterBench table: 3 models of known accuracy, two data sets, one with a shared prefix."""
    prompts = []
    rng = np.random.default_rng(0)
    for k in range(n):
        dataset = "quiz" if k % 3 else "code"
        text = (SHOT if dataset == "quiz" else "") + f"item {k} about {'cats' if k % 2 else 'dogs'}"
        scores = {m: float(rng.random() < p) for m, p in zip(ROUTERBENCH_TOY_MODELS, (0.3, 0.6, 0.9), strict=True)}
        costs = {m: round(c * (1 + k / 100), 6) for m, c in zip(ROUTERBENCH_TOY_MODELS, (0.0001, 0.0005, 0.005), strict=True)}
        prompts.append(
            RouterBenchPrompt(
                f"{dataset}.{k}", dataset, text, scores, costs, {m: 40 * (i + 1) for i, m in enumerate(ROUTERBENCH_TOY_MODELS)}
            )
        )
    return RouterBenchData(prompts, list(ROUTERBENCH_TOY_MODELS))


@pytest.fixture(scope="module")
def tiny_phase1(tmp_path_factory: pytest.TempPathFactory, small_log_file: Path) -> Path:
    out = tmp_path_factory.mktemp("phase1")
    assert phase1_cli.main([*phase1_flags(small_log_file), "--epochs", "1", "--out-dir", str(out)]) == 0
    return out / "phase1_best_model_40.pth"
