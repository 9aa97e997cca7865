"""Routing on recorded LLM outcomes (RouterBench): prompt features, routers, cost–quality curves, the report."""
