"""Running a sweep's trials on Ray Tune (the optional ``orchestai[distributed]`` extra).

Each trial is one Tune trial whose function calls :func:`~orchestai.sweep.trials.run_trial`
with the trial's job, so a trial does on Ray exactly what it does in-process. Without
``ray_address`` a local Ray instance with ``num_workers`` CPUs is started for the sweep
and stopped after it; with one (``auto`` or ``HOST:PORT``) the trials run on that
cluster, whose workers must see the sweep's folder and the paths in its flags (a shared
file system) and have OrchestAI installed.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from orchestai.sweep.trials import TrialJob, run_trial

DISTRIBUTED_EXTRA_HINT = "pip install 'orchestai[distributed]' (Ray Tune)"


def ray_available() -> bool:
    """Whether Ray Tune is installed."""
    try:
        import ray  # noqa: F401
        from ray import tune  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def ray_session(address: str | None, num_workers: int, log: Callable[[str], Any] = print) -> Iterator[None]:
    """Ray, started locally with ``num_workers`` CPUs (or connected to ``address``) for the block, unless already running."""
    import ray

    # trials read relative paths from the sweep's folder (TrialJob.cwd), not Tune's trial folder
    os.environ.setdefault("RAY_CHDIR_TO_TRIAL_DIR", "0")
    started_here = not ray.is_initialized()
    if started_here:
        begun = time.perf_counter()
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=num_workers, include_dashboard=False, log_to_driver=False)
        log(f"Ray {'connected to ' + address if address else 'started locally'} in {time.perf_counter() - begun:.1f}s")
    try:
        yield
    finally:
        if started_here:
            ray.shutdown()


def _tune_trial(config: dict[str, Any]) -> dict[str, Any]:
    """The Tune function of every trial: run the job, report its metrics (and status)."""
    result = run_trial(TrialJob(**config["job"]))
    return {**result.metrics, "trial_ok": result.ok}


def run_on_ray(
    jobs: Sequence[TrialJob],
    num_workers: int,
    cpus_per_trial: float,
    address: str | None,
    storage: Path,
    log: Callable[[str], Any] = print,
) -> dict[str, str]:
    """Run the jobs as Tune trials, at most ``num_workers`` at a time; returns errors of trials Ray itself lost.

    A trial's own failure is in its ``trial.json`` like in a sequential sweep; what is
    returned are the trials whose worker died before writing one (e.g. killed for memory).
    """
    from ray import tune

    with ray_session(address, num_workers, log):
        tuner = tune.Tuner(
            tune.with_resources(_tune_trial, {"cpu": cpus_per_trial}),
            param_space={"job": tune.grid_search([asdict(job) for job in jobs])},
            tune_config=tune.TuneConfig(
                max_concurrent_trials=num_workers,
                trial_dirname_creator=lambda trial: trial.config["job"]["trial_id"],
            ),
            # one Tune experiment per batch (a tuning sweep runs several)
            run_config=tune.RunConfig(name=f"tune-{jobs[0].trial_id}", storage_path=str(storage.resolve()), verbose=0),
        )
        results = tuner.fit()
        lost: dict[str, str] = {}
        for index in range(len(results)):
            result = results[index]
            if result.error is not None and result.config is not None:
                lost[result.config["job"]["trial_id"]] = f"Ray: {' '.join(str(result.error).split())[:300]}"
        return lost
