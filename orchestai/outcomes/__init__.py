"""Outcome models: per prompt, every model's calibrated probability of success and expected cost (Phase 1 on recorded outcomes)."""
