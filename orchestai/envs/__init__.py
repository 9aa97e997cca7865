"""Gymnasium environments of OrchestAI and their registration."""

from __future__ import annotations

import gymnasium as gym

WORKFLOW_ENV_ID = "orchestai/Workflow-v0"
ROUTERBENCH_ENV_ID = "orchestai/RouterBench-v0"
MAX_EPISODE_STEPS = 256


def register_envs() -> None:
    """Register OrchestAI's environments with Gymnasium (safe to call repeatedly)."""
    if WORKFLOW_ENV_ID not in gym.registry:
        gym.register(
            id=WORKFLOW_ENV_ID,
            entry_point="orchestai.envs.workflow_env:WorkflowEnv",
            max_episode_steps=MAX_EPISODE_STEPS,
            kwargs={"task_source": "templates"},
        )
    if ROUTERBENCH_ENV_ID not in gym.registry:
        gym.register(
            id=ROUTERBENCH_ENV_ID,
            entry_point="orchestai.envs.routerbench_env:RouterBenchEnv",
            max_episode_steps=MAX_EPISODE_STEPS,
        )


def __getattr__(name: str) -> object:
    # WorkflowEnv is imported lazily so that `import orchestai` stays light.
    if name == "WorkflowEnv":
        from orchestai.envs.workflow_env import WorkflowEnv

        return WorkflowEnv
    if name == "RouterBenchEnv":
        from orchestai.envs.routerbench_env import RouterBenchEnv

        return RouterBenchEnv
    raise AttributeError(name)


__all__ = ["MAX_EPISODE_STEPS", "ROUTERBENCH_ENV_ID", "WORKFLOW_ENV_ID", "RouterBenchEnv", "WorkflowEnv", "register_envs"]
