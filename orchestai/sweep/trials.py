"""Trials of a sweep: their expansion from the grid and seeds, and running one into its folder.

:func:`run_trial` is the one function every execution path calls (in-process for a
sequential sweep, in a Ray worker otherwise), with a plain-data :class:`TrialJob`, so a
trial does the same work wherever it runs. It writes ``trial.json`` (atomically, last)
into the trial's folder: a trial counts as finished when that file says ``ok``, which is
how a rerun of the sweep skips it. The command's outputs go to ``run/`` beside it and
everything the command prints to ``log.txt``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from orchestai.configuration import ConfigError
from orchestai.errors import UserInputError
from orchestai.files import write_json_atomic
from orchestai.paths import DATA_DIR_VARIABLE
from orchestai.sweep.commands import COMMANDS, TrialInterrupted
from orchestai.sweep.config import SweepConfig

TRIALS_DIR = "trials"
TRIAL_FILE = "trial.json"
TRIAL_LOG = "log.txt"
TRIAL_RUN_DIR = "run"
STATUS_OK = "ok"
STATUS_ERROR = "error"


@dataclass(frozen=True)
class Trial:
    """One point of the sweep: its id and the flags that vary (grid values and seed)."""

    id: str
    flags: dict[str, Any]


@dataclass(frozen=True)
class TrialJob:
    """Everything a worker needs to run one trial (plain data, so it travels to Ray workers)."""

    trial_id: str
    command: str
    config: str | None
    flags: dict[str, Any]  # the sweep's shared flags and the trial's own
    trial_dir: str  # absolute
    cwd: str  # the sweep's working folder: relative paths in flags are read from there
    environment: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TrialResult:
    """A finished (or failed) trial: its metrics, or the one-line error."""

    id: str
    flags: dict[str, Any]
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the trial finished without an error."""
        return self.status == STATUS_OK


def expand_trials(config: SweepConfig) -> list[Trial]:
    """Every combination of the grid's values (in the file's key order), each once per seed; ids ``t000``, ``t001``, ..."""
    keys = list(config.grid)
    points = [dict(zip(keys, values, strict=True)) for values in itertools.product(*(config.grid[k] for k in keys))]
    if config.seeds:
        points = [{**point, config.seed_key: seed} for point in points for seed in config.seeds]
    return [Trial(f"t{index:03d}", point) for index, point in enumerate(points)]


def trial_job(config: SweepConfig, trial: Trial, sweep_dir: Path) -> TrialJob:
    """The job of one trial of ``config`` whose sweep writes to ``sweep_dir``."""
    environment = {DATA_DIR_VARIABLE: os.environ[DATA_DIR_VARIABLE]} if os.environ.get(DATA_DIR_VARIABLE) else {}
    return TrialJob(
        trial_id=trial.id,
        command=config.command,
        config=config.config,
        flags={**config.flags, **trial.flags},
        trial_dir=str((sweep_dir / TRIALS_DIR / trial.id).resolve()),
        cwd=str(Path.cwd()),
        environment=environment,
    )


def check_trial_config(job: TrialJob) -> None:
    """Build the trial's configuration without running it (a bad key or value raises :class:`ConfigError`)."""
    command = COMMANDS[job.command]
    config_file = _resolved(job.config, job.cwd)
    command.build(config_file, job.flags, Path(job.trial_dir) / TRIAL_RUN_DIR)


def _resolved(path: str | None, cwd: str) -> Path | None:
    if path is None:
        return None
    return Path(path) if Path(path).is_absolute() else Path(cwd) / path


def run_trial(job: TrialJob) -> TrialResult:
    """Run one trial in this process and write its ``trial.json``; a failure is recorded, not raised.

    Only an interruption (Ctrl-C, SIGTERM) propagates, as :class:`TrialInterrupted`, and
    leaves no ``trial.json``: the trial is not finished and a rerun runs it again.
    """
    trial_dir = Path(job.trial_dir)
    run_dir = trial_dir / TRIAL_RUN_DIR
    run_dir.mkdir(parents=True, exist_ok=True)
    (trial_dir / TRIAL_FILE).unlink(missing_ok=True)  # a previous attempt's result no longer holds
    os.environ.update(job.environment)
    previous_cwd = os.getcwd()
    started = time.perf_counter()
    metrics: dict[str, float] = {}
    error: str | None = None
    with (trial_dir / TRIAL_LOG).open("w", encoding="utf-8") as log_file:

        def log(line: str) -> None:
            print(line, file=log_file, flush=True)

        try:
            os.chdir(job.cwd)
            with contextlib.redirect_stdout(log_file):
                command = COMMANDS[job.command]
                settings = command.build(_resolved(job.config, job.cwd), job.flags, run_dir)
                metrics = command.run(settings, run_dir, log)
        except KeyboardInterrupt as interrupt:
            log(f"interrupted: {interrupt}")
            raise TrialInterrupted(f"trial {job.trial_id} was interrupted") from None
        except (UserInputError, ConfigError) as failure:
            error = str(failure)
        except Exception as failure:  # a crashing trial is reported; the sweep goes on
            error = f"{type(failure).__name__}: {' '.join(str(failure).split())}"
            log(traceback.format_exc())
        finally:
            os.chdir(previous_cwd)
        if error is not None:
            log(f"error: {error}")
    result = TrialResult(
        id=job.trial_id,
        flags=job.flags,
        status=STATUS_OK if error is None else STATUS_ERROR,
        metrics=metrics,
        error=error,
        seconds=time.perf_counter() - started,
    )
    write_json_atomic(trial_dir / TRIAL_FILE, asdict(result))
    return result


def read_trial_result(sweep_dir: Path, trial_id: str) -> TrialResult | None:
    """The recorded result of a trial, or ``None`` when it has not finished (or its file is unreadable)."""
    path = sweep_dir / TRIALS_DIR / trial_id / TRIAL_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return TrialResult(**data)
    except (OSError, ValueError, TypeError):
        return None
