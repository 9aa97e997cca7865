"""Reports: every policy on the same held-out synthetic workflows (``python -m orchestai.evaluate``), the planning comparison."""
