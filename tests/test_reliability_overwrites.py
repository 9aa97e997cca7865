"""Class 3, silent overwrites: a non-empty output folder is refused unless --overwrite or --resume, and locked while a run writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import orchestai  # noqa: F401
from orchestai.phase1 import train as phase1_cli
from orchestai.phase2 import ppo as phase2_cli
from orchestai.rundir import LOCK_NAME

from .reliability_helpers import (
    PHASE2_TINY,
    phase1_flags,
)


def test_a_non_empty_out_dir_is_refused_unless_overwrite(tmp_path: Path, small_log_file: Path, capsys):
    out = tmp_path / "run"
    flags = [*phase1_flags(small_log_file), "--epochs", "1", "--out-dir", str(out)]
    assert phase1_cli.main(flags) == 0
    best = out / "phase1_best_model_40.pth"
    before = best.read_bytes()
    capsys.readouterr()
    assert phase1_cli.main(flags) == 2
    err = capsys.readouterr().err
    assert f"{out}: --out-dir is not empty" in err and "--overwrite" in err and "Traceback" not in err
    assert best.read_bytes() == before  # the first run's outputs are untouched
    (out / "phase1_best_model_999.pth").write_bytes(b"stale")
    assert phase1_cli.main([*flags, "--overwrite"]) == 0
    assert not (out / "phase1_best_model_999.pth").exists()  # a previous run's outputs do not linger


def test_an_out_dir_another_run_writes_to_is_locked(tmp_path: Path, small_log_file: Path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / LOCK_NAME).write_text(str(os.getppid()))  # a live process holds it
    assert phase1_cli.main([*phase1_flags(small_log_file), "--epochs", "1", "--out-dir", str(out), "--overwrite"]) == 2
    assert f"another run (process {os.getppid()})" in capsys.readouterr().err
    (out / LOCK_NAME).write_text("999999999")  # its process is gone: a stale lock is taken over
    assert phase1_cli.main([*phase1_flags(small_log_file), "--epochs", "1", "--out-dir", str(out), "--overwrite"]) == 0
    assert not (out / LOCK_NAME).exists()


@pytest.mark.parametrize("cli", ["phase1", "phase2"])
def test_an_out_dir_that_is_a_file_is_a_clear_error(cli: str, tmp_path: Path, small_log_file: Path, tiny_phase1: Path, capsys):
    target = tmp_path / "taken"
    target.write_text("a file")
    if cli == "phase1":
        code = phase1_cli.main([*phase1_flags(small_log_file), "--epochs", "1", "--out-dir", str(target)])
    else:
        code = phase2_cli.main(["--init", str(tiny_phase1), "--timesteps", "64", "--out-dir", str(target), *PHASE2_TINY])
    assert code == 2
    assert f"{target}: --out-dir is a file, not a folder" in capsys.readouterr().err
