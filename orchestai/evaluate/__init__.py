"""Baselines, learned routers and the comparison report (``python -m orchestai.evaluate``)."""
