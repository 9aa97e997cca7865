"""Planning new instructions with a trained planner: ``plan_instruction`` and ``python -m orchestai.plan``."""

from orchestai.plan.planning import plan_instruction, plan_to_dot

__all__ = ["plan_instruction", "plan_to_dot"]
