"""Shared fixtures: the bundled world, and a small synthetic log file."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestai.data.generate import generate_logs
from orchestai.data.logs import write_logs
from orchestai.paths import PROJECT_ROOT
from orchestai.world.world import World

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


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
