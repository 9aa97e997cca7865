"""Execution logs: schema, loading and validation, generation, and the tokenizer."""
