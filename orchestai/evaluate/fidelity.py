"""Fidelity of the synthetic world: its success probabilities and returns against RouterBench's recorded outcomes.

``python -m orchestai.evaluate.fidelity [--outcome-model PATH]`` takes the held-out
RouterBench prompts of the routing report's split and compares, for the 11 RouterBench
models:

* **success**: the synthetic world's probability that a model succeeds on a subtask of
  the prompt's category (``orchestai/configs/calibration.yaml`` maps ARC-Challenge to
  reasoning, Winogrande to commonsense, MBPP to code; the probability is averaged over
  the category's text task types, their hidden difficulty and the chance that the model
  is down) against the recorded 0/1 outcome: Brier score and ECE, next to the outcome
  model's when one is given;
* **returns**: the same routing policies (each model alone, cheapest, strongest, best
  expected utility) run in ``orchestai/Workflow-v0`` on one-subtask workflows of the
  prompt's category and tokens (no retries, no latency term, the same cost weight) and
  in ``orchestai/RouterBench-v0`` on the prompts themselves.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from orchestai.agents.baselines import (
    BestExpectedUtilityPolicy,
    CheapestPolicy,
    FixedModelPolicy,
    RoutingPolicy,
    StrongestPolicy,
)
from orchestai.cli import run_cli
from orchestai.envs import ROUTERBENCH_ENV_ID, WORKFLOW_ENV_ID
from orchestai.envs.routerbench_data import RouterBenchPrompt, load_routerbench_folder, split_prompts
from orchestai.envs.routerbench_world import ROUTERBENCH_ENV, categories_of_datasets, category_types, tokens_of_text
from orchestai.files import write_json_atomic
from orchestai.outcomes.calibration import brier_score, expected_calibration_error
from orchestai.routing.config import RoutingConfig
from orchestai.world.workflow import WorkflowSpec
from orchestai.world.world import World

HERMITE_NODES = 40
FIDELITY_FILE = "fidelity.json"


def world_success_probability(world: World, category: str, model: int) -> float:
    """The world's mean probability that ``model`` succeeds on a first attempt of a subtask of ``category``.

    Averaged over the category's text task types, the hidden difficulty (normal around
    each type's offset; Gauss–Hermite quadrature) and the model being down.
    """
    from orchestai.world.simulator import NORMAL, ExecutionSimulator

    simulator = ExecutionSimulator(world)
    conditions = world.config.conditions
    nodes, weights = np.polynomial.hermite.hermgauss(HERMITE_NODES)
    values = []
    for t in category_types(world, category):
        offsets = world.difficulty_offset[t] + np.sqrt(2.0) * conditions.difficulty_std * nodes
        p = sum(
            w * simulator.success_probability(t, model, float(d), 1.0, NORMAL) for w, d in zip(weights, offsets, strict=True)
        )
        values.append(p / np.sqrt(np.pi))
    return float(np.mean(values)) * (1.0 - conditions.outage_probability)


def one_subtask_workflow(prompt: RouterBenchPrompt, task_type: int, output_tokens: int) -> WorkflowSpec:
    """A synthetic one-subtask workflow standing for a RouterBench prompt: its category's type, its tokens."""
    return WorkflowSpec(
        id=f"fidelity-{prompt.sample_id}",
        instruction=f"a {prompt.dataset} prompt",
        types=(task_type,),
        input_tokens=(tokens_of_text(prompt.prompt),),
        output_tokens=(output_tokens,),
        parents=((),),
        descriptions=(prompt.dataset,),
    )


def mean_return(env: Any, policy: RoutingPolicy, options: Callable[[int], dict[str, Any]], episodes: int) -> float:
    """Mean return of ``policy`` over ``episodes`` episodes (episode ``k`` reset with seed ``k`` and ``options(k)``)."""
    total = 0.0
    for k in range(episodes):
        obs, _ = env.reset(seed=k, options=options(k))
        done = False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy.act(obs, env))
            total += float(reward)
            done = terminated or truncated
    return total / episodes


def policies_for(world: World, models: Sequence[str]) -> list[RoutingPolicy]:
    """Each RouterBench model alone (by the world's index of that model), then the three baselines."""
    fixed: list[RoutingPolicy] = [FixedModelPolicy(world.model_index[m], m) for m in models]
    return [*fixed, CheapestPolicy(), StrongestPolicy(), BestExpectedUtilityPolicy()]


def fidelity_report(
    config: RoutingConfig, cost_weight: float, outcome_model: str | None = None, log: Callable[[str], Any] = print
) -> dict[str, Any]:
    """Success (Brier, ECE per model) and returns (per policy) of the synthetic world against the recorded outcomes."""
    data = load_routerbench_folder(config.data_dir)  # in the routing report's order: the same split
    category_of = categories_of_datasets(data)
    train, test = split_prompts(data.prompts, config.test_fraction, config.split_seed)
    world = World.load()
    models = data.models
    outcomes = np.array([[p.scores[m] for m in models] for p in test])
    world_p = np.array(
        [[world_success_probability(world, category_of[p.dataset], world.model_index[m]) for m in models] for p in test]
    )
    predictors = {"synthetic world": world_p}
    if outcome_model:
        from orchestai.routing.router import Router

        success, _, _ = Router.load(outcome_model, config.cache_dir).estimates(
            [p.prompt for p in test], [p.dataset for p in test]
        )
        predictors["outcome model"] = success
    success_rows = {
        name: {
            "pooled": {"brier": brier_score(p, outcomes), "ece": expected_calibration_error(p, outcomes)},
            "per_model": {
                m: {
                    "brier": brier_score(p[:, k], outcomes[:, k]),
                    "ece": expected_calibration_error(p[:, k], outcomes[:, k]),
                    "mean": float(p[:, k].mean()),
                }
                for k, m in enumerate(models)
            },
        }
        for name, p in predictors.items()
    }
    recorded_rate = {m: float(outcomes[:, k].mean()) for k, m in enumerate(models)}
    # the same policies in both envs: one answer, no latency term, the same trade-off
    settings: dict[str, Any] = {"cost_weight": cost_weight, "success_bonus": 1.0, "latency_weight": 0.0, "max_retries": 0}
    replay = gym.make(
        ROUTERBENCH_ENV_ID,
        data=data,
        split="test",
        test_fraction=config.test_fraction,
        split_seed=config.split_seed,
        **settings,
    )
    replay_world: World = replay.get_wrapper_attr("world")
    answer_tokens = dict(zip(replay_world.type_names, replay_world.type_output_tokens.tolist(), strict=True))
    synthetic = gym.make(WORKFLOW_ENV_ID, **settings)
    types_of = {c: category_types(world, c) for c in set(category_of.values())}

    def synthetic_options(k: int) -> dict[str, Any]:
        prompt = test[k]
        types = types_of[category_of[prompt.dataset]]
        return {"workflow": one_subtask_workflow(prompt, types[k % len(types)], int(answer_tokens[prompt.dataset]))}

    returns = {}
    for synthetic_policy, replay_policy in zip(policies_for(world, models), policies_for(replay_world, models), strict=True):
        returns[synthetic_policy.name] = {
            "workflow_v0": mean_return(synthetic, synthetic_policy, synthetic_options, len(test)),
            "routerbench_v0": mean_return(replay, replay_policy, lambda k: {"workflow_index": k}, len(test)),
        }
    replay.close()
    synthetic.close()
    return {
        "held_out_prompts": len(test),
        "training_prompts": len(train),
        "cost_weight": cost_weight,
        "recorded_success_rate": recorded_rate,
        "success": success_rows,
        "returns": returns,
    }


def format_fidelity(report: dict[str, Any]) -> str:
    """The report as two aligned tables."""
    names = list(report["success"])
    lines = [f"success on {report['held_out_prompts']} held-out prompts (recorded outcomes): Brier / ECE / mean predicted"]
    header = f"{'model':34} {'recorded':>8} " + " ".join(f"{n:>26}" for n in names)
    lines += [header, "-" * len(header)]
    for model, rate in report["recorded_success_rate"].items():
        cells = []
        for name in names:
            row = report["success"][name]["per_model"][model]
            cells.append(f"{row['brier']:8.4f} {row['ece']:8.4f} {row['mean']:8.3f}")
        lines.append(f"{model:34} {rate:8.3f} " + " ".join(f"{c:>26}" for c in cells))
    pooled = " ".join(
        f"{report['success'][n]['pooled']['brier']:8.4f} {report['success'][n]['pooled']['ece']:8.4f} {'':8}" for n in names
    )
    lines.append(f"{'pooled':34} {'':8} {pooled}")
    lines.append("")
    lines.append(f"mean return per prompt at cost weight {report['cost_weight']:g} (success - cost weight x cost, one answer)")
    lines.append(f"{'policy':34} {'Workflow-v0':>12} {'RouterBench-v0':>15}")
    for name, row in report["returns"].items():
        lines.append(f"{name:34} {row['workflow_v0']:12.4f} {row['routerbench_v0']:15.4f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    defaults = RoutingConfig()
    parser = argparse.ArgumentParser(
        description="Fidelity of the synthetic world against RouterBench's recorded outcomes (held-out prompts)."
    )
    parser.add_argument("--data-dir", default=defaults.data_dir, help=f"RouterBench CSVs (default {defaults.data_dir})")
    parser.add_argument(
        "--outcome-model",
        default=None,
        help="an outcome-model checkpoint of the same split, compared with the world (default: none)",
    )
    parser.add_argument(
        "--cost-weight",
        type=float,
        default=ROUTERBENCH_ENV.cost_weight,
        help=f"the trade-off of the returns, 1/USD (default {ROUTERBENCH_ENV.cost_weight:g}, the replay env's)",
    )
    parser.add_argument(
        "--cache-dir", default=defaults.cache_dir, help=f"where prompt embeddings are cached (default {defaults.cache_dir})"
    )
    parser.add_argument(
        "--out-dir", type=Path, default=Path("runs/fidelity"), help="where fidelity.json is written (default runs/fidelity)"
    )
    args = parser.parse_args(argv)

    def command() -> int:
        config = RoutingConfig(data_dir=args.data_dir, cache_dir=args.cache_dir)
        report = fidelity_report(config, args.cost_weight, args.outcome_model)
        print(format_fidelity(report))
        args.out_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(args.out_dir / FIDELITY_FILE, report)
        print(f"wrote {args.out_dir / FIDELITY_FILE}")
        return 0

    return run_cli(command)


if __name__ == "__main__":
    raise SystemExit(main())
