"""SB3 policies built around the PlannerModel (PPO and MaskablePPO)."""
