"""Executing plans against OpenAI-compatible endpoints, writing recorded execution logs."""
