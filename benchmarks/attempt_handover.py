"""Where does a PPO router lose to the error-aware rule? Hand decisions over to the rule from attempt k on.

Evaluates, on the same held-out synthetic workflows and seeds, a trained PPO model, the
error-aware expected-utility rule, and hybrids in which the rule decides every attempt
numbered ``k`` or higher (retries of a failed subtask) while PPO decides the rest. A
hybrid that beats PPO alone shows that PPO's choices on those attempts are the weaker
ones.

    python benchmarks/attempt_handover.py --ppo runs/phase2_init_1m/ppo_model.zip
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from orchestai.agents.baselines import ErrorAwareExpectedUtilityPolicy
from orchestai.agents.rollouts import evaluate_policy
from orchestai.phase2.saved import load_trained_model
from orchestai.policies.routers import Sb3Router


class Handover:
    """PPO on attempts below ``first_rule_attempt``, the rule from there on."""

    def __init__(self, learned: Any, rule: Any, first_rule_attempt: int) -> None:
        self.learned, self.rule, self.first_rule_attempt = learned, rule, first_rule_attempt
        self.name = f"PPO, rule from attempt {first_rule_attempt}"

    def act(self, obs: dict[str, np.ndarray], env: Any) -> int:
        """The rule's choice on late attempts, PPO's otherwise."""
        late = env.unwrapped.current_context()["attempt"] >= self.first_rule_attempt
        return (self.rule if late else self.learned).act(obs, env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ppo", type=Path, required=True, help="a PPO model (.zip) trained on orchestai/Workflow-v0")
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--seed", type=int, default=100_000)
    args = parser.parse_args()
    learned = Sb3Router(load_trained_model(args.ppo, masked=False), "PPO alone")  # rebuilt, nothing unpickled
    rule = ErrorAwareExpectedUtilityPolicy()
    for policy in (learned, rule, *(Handover(learned, rule, k) for k in (2, 3, 4))):
        result = evaluate_policy(policy, args.episodes, args.seed, workflow_split="test")
        mean, half = result.mean_ci95(result.returns)
        print(f"{policy.name:32s} return {mean:.3f} ± {half:.3f}, success {result.successes.mean():.3f}", flush=True)


if __name__ == "__main__":
    main()
