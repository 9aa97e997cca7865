"""Helpers shared by the reliability test modules (one module per class of failure)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import orchestai  # noqa: F401
from orchestai.configuration import from_mapping
from orchestai.phase2.config import Phase2Config


def one_line_error(capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith(("error:", "invalid:"))]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


TINY_MODEL = ["--model-d-model", "32", "--model-slot-layers", "1", "--model-conv-layers", "1", "--model-n-heads", "2"]


def phase1_flags(data: Path) -> list[str]:
    return [
        "--data",
        str(data),
        "--batch-size",
        "8",
        "--learning-rate",
        "0.003",
        "--no-progress",
        "--patience",
        "500",
        *TINY_MODEL,
    ]


def cli_command(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def unbuffered_env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def tiny_phase2_config(**overrides) -> Phase2Config:
    return from_mapping(Phase2Config, {"n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 1, **overrides}, "test")


PHASE2_TINY = ["--n-envs", "2", "--n-steps", "128", "--batch-size", "128", "--eval-episodes", "0", "--curve-every", "0",
               "--monitor-logs", "8", "--monitor-every", "100000", "--no-progress"]  # fmt: skip

# a RouterBench CSV header with two models
HEADER = "sample_id,prompt,eval_name,model-a,model-a|total_cost,model-b,model-b|total_cost\n"
