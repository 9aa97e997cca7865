"""Synthetic data: the execution-log generator and validator CLIs, planning examples from logs, the TaskBench-format importer."""
