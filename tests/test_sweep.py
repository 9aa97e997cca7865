"""Sweeps: trials expanded from grid and seeds, run in-process or on Ray with the same metrics, failures reported, reruns skipping finished trials."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from orchestai.configuration import ConfigError, from_mapping, load_yaml_config
from orchestai.rundir import OutputDirError
from orchestai.sweep.commands import COMMANDS
from orchestai.sweep.config import SweepConfig, bundled_sweeps, sweep_file
from orchestai.sweep.ray_backend import ray_available
from orchestai.sweep.runner import check_sweep, run_sweep
from orchestai.sweep.trials import TRIAL_FILE, TRIALS_DIR, expand_trials, run_trial, trial_job

from .reliability_helpers import unbuffered_env

TINY_PPO = {
    "timesteps": 256, "n_envs": 1, "n_steps": 128, "batch_size": 64, "n_epochs": 1, "eval_episodes": 10,
    "curve_every": 0, "monitor_logs": 8, "monitor_every": 100_000, "progress": False,
}  # fmt: skip


def tiny_sweep(out_dir: Path, **overrides) -> SweepConfig:
    """4 trials of a few hundred PPO steps: plain and masked PPO, seeds 0 and 1."""
    data = {"command": "phase2.ppo", "name": "tiny", "flags": TINY_PPO, "grid": {"masked": [False, True]}, "seeds": [0, 1]}
    return from_mapping(SweepConfig, {**data, "out_dir": str(out_dir), **overrides}, "tiny.yaml")


def metrics_by_trial(results) -> dict[str, dict[str, float]]:
    return {r.id: r.metrics for r in results}


@pytest.fixture(scope="module")
def sequential_tiny(tmp_path_factory: pytest.TempPathFactory):
    """The tiny sweep run sequentially, in-process: its config and results."""
    config = tiny_sweep(tmp_path_factory.mktemp("sweep") / "sequential")
    return config, run_sweep(config, log=lambda line: None)


def test_trials_are_every_grid_combination_once_per_seed_in_file_order():
    config = from_mapping(
        SweepConfig, {"command": "phase2.ppo", "grid": {"masked": [False, True], "hidden": [32, 64, 128]}, "seeds": [7, 8]}
    )
    trials = expand_trials(config)
    assert [t.id for t in trials] == [f"t{i:03d}" for i in range(12)]
    assert trials[0].flags == {"masked": False, "hidden": 32, "seed": 7}
    assert trials[1].flags == {"masked": False, "hidden": 32, "seed": 8}
    assert trials[2].flags == {"masked": False, "hidden": 64, "seed": 7}
    assert trials[-1].flags == {"masked": True, "hidden": 128, "seed": 8}
    assert len({json.dumps(t.flags, sort_keys=True) for t in trials}) == 12
    assert [t.flags for t in expand_trials(from_mapping(SweepConfig, {"command": "evaluate"}))] == [{}]


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        ({"command": "phase3.ppo"}, "command", "must be one of phase1.train, phase2.ppo, routing.ppo, evaluate"),
        ({"grid": {"masked": []}}, "grid.masked", "non-empty list"),
        ({"grid": {"masked": True}}, "grid.masked", "expected a list"),
        ({"flags": {"out_dir": "x"}}, "out_dir", "set by the sweep"),
        ({"flags": {"seed": 3}}, "seed_key", "set by seeds"),
        ({"grid": {"seed": [1]}, "seeds": [0]}, "seed_key", "set by seeds"),
        ({"seeds": [0, 0]}, "seeds", "must not repeat"),
        ({"num_workers": 0}, "num_workers", "must be >= 1"),
        ({"flags": {"timestepz": 5}}, "flags.timestepz", "unknown key"),
        ({"grid": {"n_envs": [1, 0]}}, "grid.n_envs", "must be >= 1 (trial t001 of phase2.ppo)"),
        ({"flags": {"timesteps": "many"}}, "flags.timesteps", "expected an integer"),
        (
            {"search": {"learning_rate": {"low": 1e-4, "high": 1e-3}}, "samples": 2, "objective": "ppo.return"},
            "search",
            "cannot be combined",
        ),
        (
            {
                "grid": {},
                "seeds": [],
                "search": {"learning_rate": {"low": 1e-3, "high": 1e-4}},
                "samples": 2,
                "objective": "x",
            },
            "search.learning_rate",
            "low < high",
        ),
        (
            {
                "grid": {},
                "seeds": [],
                "search": {"learning_rate": {"low": 0.0, "high": 1.0, "log": True}},
                "samples": 2,
                "objective": "x",
            },
            "search.learning_rate.low",
            "> 0 on a log scale",
        ),
        (
            {"grid": {}, "seeds": [], "search": {"n_epochs": {"choices": []}}, "samples": 2, "objective": "x"},
            "search.n_epochs.choices",
            "non-empty",
        ),
        (
            {"grid": {}, "seeds": [], "search": {"n_epochs": {"choices": [1]}}, "samples": 0, "objective": "x"},
            "samples",
            ">= 1",
        ),
        ({"grid": {}, "seeds": [], "search": {"n_epochs": {"choices": [1]}}, "samples": 2}, "objective", "metric to optimise"),
        (
            {"grid": {}, "seeds": [], "search": {"n_epochz": {"choices": [1]}}, "samples": 2, "objective": "x"},
            "search.n_epochz",
            "unknown key",
        ),
    ],
)
def test_a_bad_sweep_is_one_error_naming_the_file_and_key_before_any_trial_runs(
    tmp_path: Path, change: dict, key: str, problem: str
):
    data = {"command": "phase2.ppo", "flags": {"timesteps": 256}, "grid": {"masked": [False]}, "seeds": [0], **change}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as raised:
        config = replace(load_yaml_config(SweepConfig, path), out_dir=str(tmp_path / "out"))
        check_sweep(config, str(path), expand_trials(config), tmp_path / "out")
    assert str(raised.value).startswith(f"{path}: {key}: ")
    assert problem in str(raised.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", bundled_sweeps())
def test_every_bundled_sweep_builds_every_trial_configuration(name: str, tmp_path: Path):
    config = load_yaml_config(SweepConfig, sweep_file(name))
    jobs = check_sweep(config, name, expand_trials(config), tmp_path)
    assert jobs and all(job.command == config.command for job in jobs)
    assert sweep_file(name).parent.name == "sweeps"


def test_the_readme_multi_run_results_are_bundled_sweeps():
    assert {"ppo_seeds", "ppo_masked", "ppo_success_bonus", "routing_ppo"} <= set(bundled_sweeps())
    seeds = load_yaml_config(SweepConfig, sweep_file("ppo_seeds"))
    assert [t.flags for t in expand_trials(seeds)] == [
        {"init": "checkpoints/phase1_best_model_1000.pth", "seed": 0},
        {"init": "checkpoints/phase1_best_model_1000.pth", "seed": 1},
        {"init": None, "seed": 0},
        {"init": None, "seed": 1},
    ]
    routing = load_yaml_config(SweepConfig, sweep_file("routing_ppo"))
    from orchestai.routing.config import RoutingConfig

    assert [t.flags["ppo_cost_weights"][0] for t in expand_trials(routing)] == RoutingConfig().ppo_cost_weights


@pytest.mark.slow
def test_a_sequential_sweep_matches_trials_run_alone_and_a_rerun_skips_finished_trials(sequential_tiny, tmp_path: Path):
    config, results = sequential_tiny
    sweep_dir = config.output_dir
    assert [r.status for r in results] == ["ok"] * 4
    for r in results:
        assert {"ppo.return", "ppo.success", "random.return", "monitor_stopped"} <= set(r.metrics)
        assert 0.0 <= r.metrics["ppo.success"] <= 1.0
    assert metrics_by_trial(results)["t000"] != metrics_by_trial(results)["t001"]  # the seed matters
    # the same trial run alone, in another folder, gives the same metrics
    alone = run_trial(trial_job(config, expand_trials(config)[1], tmp_path / "alone"))
    assert alone.metrics == results[1].metrics

    stamps = {p: p.stat().st_mtime_ns for p in (sweep_dir / TRIALS_DIR).glob(f"*/{TRIAL_FILE}")}
    (sweep_dir / TRIALS_DIR / "t002" / TRIAL_FILE).unlink()  # as if interrupted in t002
    lines: list[str] = []
    rerun = run_sweep(config, log=lines.append)
    assert "3 finished before (skipped)" in lines[0]
    assert metrics_by_trial(rerun) == metrics_by_trial(results)
    for path, stamp in stamps.items():
        if path.parent.name != "t002":
            assert path.stat().st_mtime_ns == stamp  # not run again
    table = json.loads((sweep_dir / "results.json").read_text())
    assert [row["id"] for row in table] == ["t000", "t001", "t002", "t003"]
    csv_header = (sweep_dir / "results.csv").read_text().splitlines()[0].split(",")
    assert csv_header[:4] == ["trial", "masked", "seed", "status"] and "ppo.return" in csv_header


@pytest.mark.slow
def test_a_crashing_trial_is_reported_with_its_error_and_the_sweep_goes_on(sequential_tiny, tmp_path: Path):
    config = tiny_sweep(tmp_path / "sweep", grid={"init": [str(tmp_path / "missing.pth"), None]}, seeds=[0])
    lines: list[str] = []
    results = run_sweep(config, log=lines.append)
    assert [r.status for r in results] == ["error", "ok"]
    assert "missing.pth" in (results[0].error or "") and "\n" not in (results[0].error or "")
    assert results[1].metrics == sequential_tiny[1][0].metrics  # the same flags as the tiny sweep's t000
    table = lines[-2]
    assert "t000: " in table and "missing.pth" in table
    assert "error: " in (tmp_path / "sweep" / TRIALS_DIR / "t000" / "log.txt").read_text()


def test_a_folder_holding_another_sweep_is_refused_unless_overwrite(tmp_path: Path):
    config = tiny_sweep(tmp_path / "sweep", seeds=[0], grid={"init": [str(tmp_path / "missing.pth")]})
    run_sweep(config, log=lambda line: None)
    other = replace(config, seeds=[0, 1])
    with pytest.raises(OutputDirError, match="holds another sweep"):
        run_sweep(other, log=lambda line: None)
    results = run_sweep(other, overwrite=True, log=lambda line: None)
    assert [r.id for r in results] == ["t000", "t001"]


@pytest.mark.slow
@pytest.mark.skipif(not ray_available(), reason="Ray is not installed: pip install 'orchestai[distributed]'")
def test_a_sweep_on_a_local_ray_instance_with_two_workers_gives_the_sequential_metrics(sequential_tiny, tmp_path: Path):
    _, sequential = sequential_tiny
    lines: list[str] = []
    on_ray = run_sweep(tiny_sweep(tmp_path / "ray", num_workers=2), log=lines.append)
    assert any("on Ray, 2 at a time" in line for line in lines)
    assert [r.status for r in on_ray] == ["ok"] * 4
    assert metrics_by_trial(on_ray) == metrics_by_trial(sequential)
    assert (tmp_path / "ray" / "ray" / "tune-t000").is_dir()  # Tune ran the trials


@pytest.mark.slow
def test_the_sweep_cli_interrupted_then_rerun_gives_the_uninterrupted_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    sweep = {"command": "phase2.ppo", "name": "cli", "flags": {**TINY_PPO, "timesteps": 2048}, "seeds": [0, 1]}
    path = tmp_path / "cli.yaml"
    path.write_text(yaml.safe_dump(sweep))
    command = [sys.executable, "-m", "orchestai.sweep", str(path), "--out-dir", str(tmp_path / "interrupted")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=unbuffered_env())
    trials = tmp_path / "interrupted" / TRIALS_DIR
    deadline = time.monotonic() + 240
    while not (trials / "t001" / "run" / "progress.csv").exists():  # t000 finished, t001 training
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()[0]
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=240)
    assert process.returncode == 130, output
    assert "interrupted in trial t001" in output and "rerun the same command to continue" in output
    assert (trials / "t000" / TRIAL_FILE).exists() and not (trials / "t001" / TRIAL_FILE).exists()

    rerun = subprocess.run(command, capture_output=True, text=True, env=unbuffered_env(), timeout=240)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "1 finished before (skipped)" in rerun.stdout and "ppo.return" in rerun.stdout
    straight = run_sweep(load_yaml_config(SweepConfig, path), log=lambda line: None)  # default out_dir, under cwd
    recorded = json.loads((tmp_path / "interrupted" / "results.json").read_text())
    assert [(r["id"], r["status"], r["metrics"]) for r in recorded] == [(r.id, r.status, r.metrics) for r in straight]


def test_the_cli_lists_the_bundled_sweeps_and_a_bad_file_is_one_line(tmp_path: Path):
    listed = subprocess.run([sys.executable, "-m", "orchestai.sweep", "--list"], capture_output=True, text=True)
    assert listed.returncode == 0 and "ppo_seeds" in listed.stdout.split()
    bad = tmp_path / "bad.yaml"
    bad.write_text("command: phase2.ppo\ngrid: {masked: yes-please}\n")
    failed = subprocess.run([sys.executable, "-m", "orchestai.sweep", str(bad)], capture_output=True, text=True)
    assert failed.returncode == 2
    assert failed.stderr.strip() == f"error: {bad}: grid.masked: expected a list, got str"
    assert not (tmp_path / "runs").exists()


def test_every_command_has_a_description_and_builds_its_configuration_into_the_trial_folder(tmp_path: Path):
    for name, command in COMMANDS.items():
        assert command.name == name and command.description
        built = command.build(None, {}, tmp_path / name)
        assert Path(built.out_dir) == tmp_path / name


@pytest.mark.slow
def test_a_routing_sweep_over_cost_weights_gives_the_report_ppo_points(tmp_path: Path):
    from orchestai.routing.report import ppo_router_points
    from orchestai.sweep.commands import COMMANDS

    from .conftest import shared_data_or_skip

    folder = str(shared_data_or_skip("routerbench"))
    flags = {
        "data_dir": folder, "ppo_timesteps": 512, "ppo_n_envs": 1, "ppo_n_steps": 64, "ppo_batch_size": 64,
        "embeddings": "no", "ppo_prompt_features": "words", "cache_dir": str(tmp_path / "cache"),
    }  # fmt: skip
    config = from_mapping(
        SweepConfig,
        {
            "command": "routing.ppo",
            "flags": flags,
            "grid": {"ppo_cost_weights": [[0.0], [1000.0]]},
            "out_dir": str(tmp_path / "s"),
        },
    )
    results = run_sweep(config, log=lambda line: None)
    assert [r.status for r in results] == ["ok", "ok"]
    free, priced = (r.metrics for r in results)
    assert set(free) == {"cost_usd", "quality"} and 0.0 < free["quality"] <= 1.0
    assert priced["cost_usd"] < free["cost_usd"]  # a high cost weight routes to cheaper models
    together = COMMANDS["routing.ppo"].build(None, {**flags, "ppo_cost_weights": [0.0, 1000.0]}, tmp_path / "together")
    assert ppo_router_points(together, log=lambda line: None) == [
        (0.0, free["cost_usd"], free["quality"]),
        (1000.0, priced["cost_usd"], priced["quality"]),
    ]


def _search_sweep(out_dir: Path, samples: int) -> SweepConfig:
    """A study over the evaluation's seed: cheap trials (two baselines on 10 workflows) with a known metric."""
    data = {
        "command": "evaluate", "name": "tuning", "flags": {"episodes": 10, "baselines": ["random", "best_expected_utility"]},
        "search": {"seed": {"low": 0, "high": 10_000}, "split": {"choices": ["train", "test"]}},
        "samples": samples, "objective": "best_expected_utility.return", "direction": "maximize", "out_dir": str(out_dir),
    }  # fmt: skip
    return from_mapping(SweepConfig, data, "tuning.yaml")


def test_a_tuning_sweep_asks_optuna_for_trials_tells_it_their_objective_and_resumes(tmp_path: Path):
    pytest.importorskip("optuna", reason="tuning needs Optuna: pip install 'orchestai[distributed]'")
    lines: list[str] = []
    results = run_sweep(_search_sweep(tmp_path / "a", 4), log=lines.append)
    assert [r.id for r in results] == ["t000", "t001", "t002", "t003"] and all(r.ok for r in results)
    for r in results:
        assert 0 <= r.flags["seed"] <= 10_000 and r.flags["split"] in ("train", "test") and r.flags["episodes"] == 10
    assert len({r.flags["seed"] for r in results}) == 4
    best = max(results, key=lambda r: r.metrics["best_expected_utility.return"])
    assert any(line.startswith(f"best trial {best.id}: best_expected_utility.return") for line in lines)
    again = run_sweep(_search_sweep(tmp_path / "b", 4), log=lambda line: None)  # seeded: the same proposals
    assert [r.flags for r in again] == [r.flags for r in results] and [r.metrics for r in again] == [
        r.metrics for r in results
    ]
    more: list[str] = []
    extended = run_sweep(_search_sweep(tmp_path / "a", 4), log=more.append)  # a rerun: nothing to run
    assert any("4 trials finished before" in line for line in more)
    assert [r.metrics for r in extended] == [r.metrics for r in results]
    csv_header = (tmp_path / "a" / "results.csv").read_text().splitlines()[0].split(",")
    assert csv_header[:4] == ["trial", "seed", "split", "status"]
