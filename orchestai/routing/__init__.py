"""Routing on recorded LLM outcomes (RouterBench): outcome tables, routers, cost–quality curves and AIQ, the PPO router, the report."""
