"""Servers: the recorded-outcome backend (``python -m orchestai.serve.replay``), an OpenAI-compatible replay of RouterBench."""
