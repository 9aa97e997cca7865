"""OrchestAI: learn to plan multi-model workflows and route their subtasks to worker models.

Importing the package registers ``orchestai/Workflow-v0`` with Gymnasium.
"""

from orchestai.envs import register_envs

__version__ = "0.2.0"

register_envs()

__all__ = ["__version__", "register_envs"]
