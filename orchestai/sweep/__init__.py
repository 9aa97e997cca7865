"""Sweeps: many trainings or evaluations of one command over a grid and seeds, in-process or on Ray Tune."""
