"""The PlannerModel: architecture, DAG utilities, decoding, metrics and checkpoints."""
