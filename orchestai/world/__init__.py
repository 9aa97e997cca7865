"""The world model: task types, worker models, templates and the execution simulator."""

from orchestai.world.config import WorldConfig, load_world_config
from orchestai.world.simulator import DOWN, NORMAL, OVERLOADED, AttemptOutcome, ExecutionSimulator
from orchestai.world.templates import WorkflowRenderer, WorkflowTemplate, generate_templates, render_workflow
from orchestai.world.workflow import WorkflowSpec
from orchestai.world.world import World

__all__ = [
    "DOWN",
    "NORMAL",
    "OVERLOADED",
    "AttemptOutcome",
    "ExecutionSimulator",
    "World",
    "WorldConfig",
    "WorkflowSpec",
    "WorkflowRenderer",
    "WorkflowTemplate",
    "generate_templates",
    "load_world_config",
    "render_workflow",
]
