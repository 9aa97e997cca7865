"""Tuning sweeps: Optuna's TPE sampler proposes the trials, ``num_workers`` at a time.

The study lives in this process: it asks for a batch of ``num_workers`` trials, the
batch runs like any sweep's trials (in-process, or as Tune trials on Ray), and each
trial's ``objective`` metric is told back (a failed trial, or one without the metric,
is told as failed). Trial ``tNNN`` is the study's NNN-th trial. A rerun tells the study
the trials that finished (from their ``trial.json``) and asks only for the rest; with
one worker the proposals are then those of an uninterrupted run up to the first
unfinished trial. The sampler is seeded (``search_seed``): for a given ``num_workers``
the proposals are reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from orchestai.configuration import ConfigError
from orchestai.sweep.config import SweepConfig
from orchestai.sweep.ray_backend import DISTRIBUTED_EXTRA_HINT
from orchestai.sweep.trials import STATUS_ERROR, TrialJob, TrialResult


def optuna_available() -> bool:
    """Whether Optuna is installed."""
    try:
        import optuna  # noqa: F401
    except ImportError:
        return False
    return True


def distributions(search: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Optuna distributions of a sweep's ``search`` space (integers where both bounds are integers)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for key, spec in search.items():
        if "choices" in spec:
            out[key] = CategoricalDistribution(spec["choices"])
        elif isinstance(spec["low"], int) and isinstance(spec["high"], int):
            out[key] = IntDistribution(spec["low"], spec["high"], log=bool(spec.get("log", False)))
        else:
            out[key] = FloatDistribution(float(spec["low"]), float(spec["high"]), log=bool(spec.get("log", False)))
    return out


def first_point(search: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One point of the space (the first choice, or the low bound): to check the flags before the study starts."""
    return {k: spec["choices"][0] if "choices" in spec else spec["low"] for k, spec in search.items()}


def run_search(
    config: SweepConfig,
    source: str,
    job_for: Callable[[str, dict[str, Any]], TrialJob],
    finished: Callable[[str], TrialResult | None],
    run_batch: Callable[[Sequence[TrialJob]], dict[str, str]],
    log: Callable[[str], Any] = print,
) -> list[TrialResult]:
    """Run the study; returns every trial's result in order."""
    if not optuna_available():
        raise ConfigError(source, "search", f"needs Optuna: {DISTRIBUTED_EXTRA_HINT}")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = distributions(config.search)
    direction = (
        optuna.study.StudyDirection.MAXIMIZE if config.direction == "maximize" else optuna.study.StudyDirection.MINIMIZE
    )
    study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=config.search_seed))
    results: list[TrialResult] = []
    index = 0
    while index < config.samples:  # trials that finished before: told, not run again
        previous = finished(f"t{index:03d}")
        if previous is None or not all(k in previous.flags for k in space):
            break
        params = {k: previous.flags[k] for k in space}
        value = previous.metrics.get(config.objective or "") if previous.ok else None
        state = optuna.trial.TrialState.COMPLETE if value is not None else optuna.trial.TrialState.FAIL
        study.add_trial(optuna.trial.create_trial(params=params, distributions=space, value=value, state=state))
        results.append(previous)
        index += 1
    if index:
        log(f"  {index} trials finished before (told to the study, not run again)")
    while index < config.samples:
        asked = [study.ask(space) for _ in range(min(config.num_workers, config.samples - index))]
        jobs = [job_for(f"t{index + k:03d}", trial.params) for k, trial in enumerate(asked)]
        lost = run_batch(jobs)
        for trial, job in zip(asked, jobs, strict=True):
            result = finished(job.trial_id) or TrialResult(
                job.trial_id, job.flags, STATUS_ERROR, error=lost.get(job.trial_id, "no result")
            )
            value = result.metrics.get(config.objective or "") if result.ok else None
            if value is None:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, value)
            results.append(result)
        index += len(jobs)
    scored = [r for r in results if r.ok and config.objective in r.metrics]
    if scored:
        pick = max if config.direction == "maximize" else min
        best = pick(scored, key=lambda r: r.metrics[config.objective or ""])
        shown = {k: best.flags[k] for k in space}
        log(f"best trial {best.id}: {config.objective} {best.metrics[config.objective or '']:.4g} with {shown}")
    return results
