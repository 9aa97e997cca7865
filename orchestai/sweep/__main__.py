"""``python -m orchestai.sweep SWEEP.yaml [--num-workers N] [--ray-address auto|HOST:PORT]``: run a sweep.

``SWEEP`` is a sweep file or the name of a bundled one (``--list`` shows them). Trials
run one after another in this process, or with ``--num-workers`` > 1 or
``--ray-address`` on Ray Tune (``pip install 'orchestai[distributed]'``). Rerunning the
same command continues an interrupted sweep: finished trials are skipped. Exit status 0
when every trial finished, 1 when any failed (each failure is in the table).
"""

from __future__ import annotations

import argparse

from orchestai.cli import interrupt_on_sigterm, run_cli
from orchestai.configuration import apply_flags, load_yaml_config
from orchestai.sweep.config import BUNDLED_SWEEPS, SweepConfig, bundled_sweeps, sweep_file
from orchestai.sweep.runner import run_sweep


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Run a sweep of OrchestAI trainings or evaluations (sequential or on Ray).")
    parser.add_argument("sweep", nargs="?", help=f"a sweep YAML file, or the name of one in {BUNDLED_SWEEPS}")
    parser.add_argument("--list", action="store_true", help="list the bundled sweeps and exit")
    parser.add_argument(
        "--out-dir", default=None, help="where the sweep writes (config key out_dir; default runs/sweeps/NAME)"
    )
    parser.add_argument(
        "--num-workers",
        type=int,
        default=None,
        help="trials at a time; > 1 runs them on Ray (config key num_workers; default 1)",
    )
    parser.add_argument(
        "--ray-address",
        default=None,
        help="an existing Ray cluster: auto or HOST:PORT (config key ray_address; default: none)",
    )
    parser.add_argument(
        "--cpus-per-trial", type=float, default=None, help="CPUs Ray reserves per trial (config key cpus_per_trial; default 1)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the trials of a different sweep found in the output folder"
    )
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(bundled_sweeps()))
        return 0
    if args.sweep is None:
        parser.error("give a sweep file (or --list)")

    def command() -> int:
        path = sweep_file(args.sweep)
        flags = {
            "out_dir": args.out_dir,
            "num_workers": args.num_workers,
            "ray_address": args.ray_address,
            "cpus_per_trial": args.cpus_per_trial,
        }
        config = apply_flags(load_yaml_config(SweepConfig, path), flags)
        with interrupt_on_sigterm():
            results = run_sweep(config, str(path), overwrite=args.overwrite)
        return 0 if all(r.ok for r in results) else 1

    return run_cli(command)


if __name__ == "__main__":
    raise SystemExit(main())
