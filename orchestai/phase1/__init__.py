"""Phase 1: supervised pre-training of the planner (``python -m orchestai.phase1.train``)."""
