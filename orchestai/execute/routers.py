"""The router that picks the model of every call: a baseline rule, one fixed model, a Phase 1 planner or a PPO zip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestai.agents.baselines import BASELINES, FixedModelPolicy, RoutingPolicy
from orchestai.errors import UserInputError
from orchestai.world.world import World

ROUTER_HELP = (
    f"a rule ({', '.join(n for n in BASELINES if n != 'oracle')}), model:NAME (always that model), "
    "a Phase 1 checkpoint (.pth) or a PPO / MaskablePPO zip written by orchestai.phase2.ppo"
)


def load_router(spec: str, world: World) -> RoutingPolicy:
    """The router named by ``spec`` (see :data:`ROUTER_HELP`); it acts on the observations ``orchestai/Workflow-v0`` builds."""
    if spec == "oracle":
        raise UserInputError("--router oracle reads the simulator's hidden state, which a real execution does not have")
    if spec in BASELINES:
        policy: RoutingPolicy = BASELINES[spec]()
        return policy
    if spec.startswith("model:"):
        name = spec.removeprefix("model:")
        if name not in world.model_index:
            raise UserInputError(f"--router {spec}: the world has no model {name!r}")
        return FixedModelPolicy(world.model_index[name], name)
    path = Path(spec)
    if path.suffix == ".zip":
        from orchestai.phase2.saved import load_trained_model
        from orchestai.policies.routers import Sb3Router

        model: Any = load_trained_model(path)
        masked = type(model).__name__ == "MaskablePPO"
        return Sb3Router(model, path.stem, masked=masked)
    if path.suffix in (".pth", ".pt"):
        from orchestai.planner.checkpoint import load_planner
        from orchestai.policies.routers import Phase1Router

        planner, _ = load_planner(path, world.names_signature())
        return Phase1Router(planner, path.stem)
    raise UserInputError(f"--router {spec}: not {ROUTER_HELP}")
