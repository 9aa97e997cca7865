"""The package as a user installs it: a built wheel in a fresh virtual environment, used from outside the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _run(command: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ORCHESTAI_DATA_DIR")}
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, timeout=timeout, env=env)


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv_and_works_outside_the_repo(tmp_path: Path):
    # built from a copy, so that setuptools' build/ folder never lands in the repository
    source = tmp_path / "source"
    shutil.copytree(REPO_ROOT / "orchestai", source / "orchestai", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, source / name)
    wheel_command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        str(source),
        "--no-deps",
        "--no-build-isolation",
        "-w",
        str(tmp_path / "dist"),
    ]
    built = _run(wheel_command, tmp_path)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("orchestai-*.whl"))

    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)], tmp_path).returncode == 0
    python = venv / "bin" / "python"
    # the dependencies come from this environment (no download); orchestai only from the wheel
    site = Path(
        _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path).stdout.strip()
    )
    (site / "outer_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)], tmp_path)
    assert installed.returncode == 0, installed.stderr[-2000:]

    work = tmp_path / "elsewhere"
    work.mkdir()
    script = (
        "import gymnasium as gym, orchestai\n"
        "env = gym.make('orchestai/Workflow-v0')\n"
        "obs, info = env.reset(seed=0)\n"
        "obs, reward, terminated, truncated, info = env.step(int(env.unwrapped.action_masks().argmax()))\n"
        "print(orchestai.__file__)\n"
    )
    used = _run([str(python), "-c", script], work)
    assert used.returncode == 0, used.stderr[-2000:]
    assert Path(used.stdout.strip()).is_relative_to(venv)  # the wheel's copy, not the repository's

    generated = _run([str(venv / "bin" / "orchestai-generate"), "--n", "3", "--out", "logs.jsonl"], work)
    assert generated.returncode == 0, generated.stderr[-2000:]
    validated = _run([str(venv / "bin" / "orchestai-validate"), "logs.jsonl"], work)
    assert validated.returncode == 0 and "3" in validated.stdout, validated.stdout + validated.stderr
    assert not any(site.glob("orchestai/**/*.jsonl"))  # nothing generated inside site-packages
    listed = _run([str(venv / "bin" / "orchestai-sweep"), "--list"], work)  # the bundled sweeps travel with the wheel
    assert listed.returncode == 0 and "ppo_seeds" in listed.stdout.split(), listed.stdout + listed.stderr
    configs = (
        "from orchestai.configuration import load_yaml_config\n"
        "from orchestai.execute.config import DEFAULT_ENDPOINTS_CONFIG, ExecutionConfig\n"
        "from orchestai.outcomes.config import DEFAULT_OUTCOMES_CONFIG, OutcomeModelConfig\n"
        "print(len(load_yaml_config(ExecutionConfig, DEFAULT_ENDPOINTS_CONFIG).endpoints), load_yaml_config(OutcomeModelConfig, DEFAULT_OUTCOMES_CONFIG).folds)\n"
    )  # the new bundled configs travel with the wheel too
    loaded = _run([str(python), "-c", configs], work)
    assert loaded.returncode == 0 and loaded.stdout.split() == ["12", "5"], loaded.stdout + loaded.stderr
    helped = _run([str(venv / "bin" / "orchestai-execute"), "--help"], work)
    assert helped.returncode == 0 and "--resume" in helped.stdout, helped.stderr
