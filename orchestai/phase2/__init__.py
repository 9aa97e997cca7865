"""Phase 2: PPO fine-tuning with the DAG-loss monitor (``python -m orchestai.phase2.ppo``)."""
