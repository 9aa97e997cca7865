"""Running a sweep: skip finished trials, run the rest (in-process or on Ray), write the table.

The sweep's folder holds ``sweep.json`` (the sweep and its trials), one folder per trial
under ``trials/`` (see :mod:`orchestai.sweep.trials`), and, when the sweep ends,
``results.csv`` and ``results.json`` with every trial's flags, status, metrics and error.
Rerunning a sweep into its folder skips the trials that finished; a folder that holds a
different sweep is refused unless ``overwrite``, which removes its trials first.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from orchestai.configuration import ConfigError, to_mapping
from orchestai.files import write_json_atomic, write_text_atomic
from orchestai.rundir import OutputDirError, claim_output_dir
from orchestai.sweep.commands import COMMANDS
from orchestai.sweep.config import SweepConfig
from orchestai.sweep.ray_backend import DISTRIBUTED_EXTRA_HINT, ray_available, ray_session, run_on_ray
from orchestai.sweep.search import first_point, run_search
from orchestai.sweep.trials import (
    STATUS_ERROR,
    TRIALS_DIR,
    Trial,
    TrialJob,
    TrialResult,
    check_trial_config,
    expand_trials,
    read_trial_result,
    run_trial,
    trial_job,
)

SWEEP_FILE = "sweep.json"
RESULTS_STEM = "results"


def check_sweep(config: SweepConfig, source: str, trials: Sequence[Trial], sweep_dir: Path) -> list[TrialJob]:
    """Every trial's job, each configuration built once (a bad flag is an error naming the sweep file and key).

    A tuning sweep's trials come from its study: its flags are checked on one point of the space.
    """
    if config.search:
        trials = [Trial("t000", first_point(config.search))]
    jobs = []
    for trial in trials:
        job = trial_job(config, trial, sweep_dir)
        try:
            check_trial_config(job)
        except ConfigError as error:
            raise ConfigError(
                source, _sweep_key(config, error.key), f"{error.problem} (trial {trial.id} of {config.command})"
            ) from None
        jobs.append(job)
    return jobs


def _sweep_key(config: SweepConfig, key: str) -> str:
    """Where in the sweep file a key of the command's configuration was set."""
    top = key.split(".")[0]
    if top in config.grid:
        return f"grid.{key}"
    if top in config.search:
        return f"search.{key}"
    if top in config.flags or key in config.flags:
        return f"flags.{key}"
    if top == config.seed_key and config.seeds:
        return "seeds"
    return f"config ({key})"


def _claim_records(config: SweepConfig, trials: Sequence[Trial] | None, sweep_dir: Path, overwrite: bool, source: str) -> None:
    """Write ``sweep.json``, refusing a folder that holds another sweep unless ``overwrite``."""
    record: dict[str, Any] = {"command": config.command, "config": config.config, "flags": config.flags}
    if trials is not None:
        record["trials"] = [asdict(t) for t in trials]
    else:  # a study: its space and settings define it
        record["search"] = {k: getattr(config, k) for k in ("search", "samples", "objective", "direction", "search_seed")}
    path = sweep_dir / SWEEP_FILE
    if path.exists():
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = None
        previous_record = {k: previous.get(k) for k in record} if isinstance(previous, dict) else None
        if previous_record != json.loads(json.dumps(record)):
            if not overwrite:
                raise OutputDirError(
                    f"{sweep_dir}: holds another sweep ({SWEEP_FILE} differs from {source}); "
                    "pass --overwrite to replace its trials, or choose another --out-dir"
                )
            shutil.rmtree(sweep_dir / TRIALS_DIR, ignore_errors=True)
    elif (sweep_dir / TRIALS_DIR).exists() and not overwrite:
        raise OutputDirError(f"{sweep_dir}: has trials but no {SWEEP_FILE}; pass --overwrite or choose another --out-dir")
    write_json_atomic(path, {**record, "sweep": to_mapping(config)})


def run_sweep(
    config: SweepConfig, source: str = "<sweep>", overwrite: bool = False, log: Callable[[str], Any] = print
) -> list[TrialResult]:
    """Run every unfinished trial of ``config`` and write the results; returns every trial's result, in order."""
    sweep_dir = config.output_dir
    if config.search:  # the trials come from the study
        check_sweep(config, source, [], sweep_dir)
        trials: list[Trial] | None = None
        jobs: list[TrialJob] = []
    else:
        trials = expand_trials(config)
        jobs = check_sweep(config, source, trials, sweep_dir)
    use_ray = config.num_workers > 1 or config.ray_address is not None
    if use_ray and not ray_available():
        if config.ray_address is not None:
            raise ConfigError(source, "ray_address", f"needs Ray: {DISTRIBUTED_EXTRA_HINT}")
        log(f"Ray is not installed ({DISTRIBUTED_EXTRA_HINT}): running the trials one after another")
        use_ray = False
    with claim_output_dir(sweep_dir, "--out-dir", resume=True):
        _claim_records(config, trials, sweep_dir, overwrite, source)
        with ray_session(config.ray_address, config.num_workers, log) if use_ray else contextlib.nullcontext():

            def execute(batch: Sequence[TrialJob]) -> dict[str, str]:
                return _execute(batch, config, use_ray, sweep_dir, log)

            if config.search:
                log(
                    f"sweep {config.name}: {config.samples} trials of {config.command} proposed by Optuna (TPE), {config.num_workers} at a time"
                )
                results = run_search(
                    config, source, lambda trial_id, params: trial_job(config, Trial(trial_id, params), sweep_dir),
                    lambda trial_id: read_trial_result(sweep_dir, trial_id), execute, log,
                )  # fmt: skip
                trials = [Trial(r.id, {k: r.flags.get(k) for k in config.search}) for r in results]
            else:
                assert trials is not None
                results = _run_grid(config, trials, jobs, sweep_dir, use_ray, execute, log)
        write_results(results, [k for t in trials for k in t.flags], sweep_dir)
        log(format_results(config, trials, results))
        log(f"wrote {sweep_dir / (RESULTS_STEM + '.csv')} and {sweep_dir / (RESULTS_STEM + '.json')}")
    return results


def _run_grid(
    config: SweepConfig,
    trials: Sequence[Trial],
    jobs: Sequence[TrialJob],
    sweep_dir: Path,
    use_ray: bool,
    execute: Callable[[Sequence[TrialJob]], dict[str, str]],
    log: Callable[[str], Any],
) -> list[TrialResult]:
    finished = {}
    for job in jobs:
        previous = read_trial_result(sweep_dir, job.trial_id)
        if previous is not None and previous.ok and previous.flags == json.loads(json.dumps(job.flags)):
            finished[job.trial_id] = previous
    pending = [job for job in jobs if job.trial_id not in finished]
    log(
        f"sweep {config.name}: {len(trials)} trials of {config.command}"
        + (f", {len(finished)} finished before (skipped)" if finished else "")
        + (f"; running {len(pending)} on Ray, {config.num_workers} at a time" if use_ray and pending else "")
    )
    lost = execute(pending) if pending else {}
    results = []
    for trial in trials:
        recorded = finished.get(trial.id) or read_trial_result(sweep_dir, trial.id)
        if recorded is None:
            problem = lost.get(trial.id, "no result (the trial did not finish)")
            recorded = TrialResult(trial.id, {**config.flags, **trial.flags}, STATUS_ERROR, error=problem)
        results.append(recorded)
    return results


def _execute(
    jobs: Sequence[TrialJob], config: SweepConfig, use_ray: bool, sweep_dir: Path, log: Callable[[str], Any]
) -> dict[str, str]:
    """Run the jobs (in-process one after another, or on Ray); returns the errors of trials Ray lost."""
    if use_ray:
        return run_on_ray(jobs, config.num_workers, config.cpus_per_trial, config.ray_address, sweep_dir / "ray", log)
    for job in jobs:
        try:
            result = run_trial(job)
        except KeyboardInterrupt:
            log(f"interrupted in trial {job.trial_id}: finished trials are kept; rerun the same command to continue")
            raise
        log(_trial_line(result))
    return {}


def _trial_line(result: TrialResult) -> str:
    if result.ok:
        return f"  trial {result.id} finished in {result.seconds:.1f}s"
    return f"  trial {result.id} failed: {result.error}"


def _metric_columns(config: SweepConfig, results: Sequence[TrialResult]) -> list[str]:
    every = list(dict.fromkeys(k for r in results for k in r.metrics))
    wanted = list(config.metrics) or list(COMMANDS[config.command].table_metrics)
    if not wanted:  # e.g. an evaluation: each policy's return (the CSV has everything)
        wanted = [k for k in every if k.endswith(".return")] or every
    if config.objective and config.objective not in wanted:
        wanted = [config.objective, *wanted]
    return [k for k in wanted if k in every]


def format_results(config: SweepConfig, trials: Sequence[Trial], results: Sequence[TrialResult]) -> str:
    """The sweep's table: one row per trial, its varying flags, status and metrics (errors in full below)."""
    varying = list(dict.fromkeys(k for t in trials for k in t.flags))
    metrics = _metric_columns(config, results)
    header = ["trial", *varying, "status", *metrics, "seconds"]
    rows = []
    for trial, result in zip(trials, results, strict=True):
        cells = [trial.id, *(str(trial.flags.get(k)) for k in varying), result.status]
        cells += [f"{result.metrics[k]:.4g}" if k in result.metrics else "-" for k in metrics]
        rows.append([*cells, f"{result.seconds:.1f}"])
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    lines = ["  ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True)) for row in [header, *rows]]
    lines.insert(1, "-" * len(lines[0]))
    lines += [f"{r.id}: {r.error}" for r in results if not r.ok]
    return "\n".join(lines)


def write_results(results: Sequence[TrialResult], varying: Sequence[str], sweep_dir: Path) -> None:
    """``results.json`` (every field) and ``results.csv`` (the varying flags and the metrics as columns), atomically."""
    write_json_atomic(sweep_dir / f"{RESULTS_STEM}.json", [asdict(r) for r in results])
    flag_keys = list(dict.fromkeys(varying))
    metric_keys = list(dict.fromkeys(k for r in results for k in r.metrics))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["trial", *flag_keys, "status", *metric_keys, "seconds", "error"])
    for r in results:
        writer.writerow(
            [r.id, *(json.dumps(r.flags.get(k)) for k in flag_keys), r.status]
            + [r.metrics.get(k, "") for k in metric_keys]
            + [f"{r.seconds:.3f}", r.error or ""]
        )
    write_text_atomic(sweep_dir / f"{RESULTS_STEM}.csv", buffer.getvalue())
