"""SB3 policies built around the PlannerModel (PPO and MaskablePPO).

Importing this package registers the policy names with SB3 (``PPO("PlannerPolicy", env)``),
so rl-zoo3 finds them with ``--gym-packages orchestai.policies``.
"""

from orchestai.policies.planner_policy import register_policy_names

register_policy_names()
