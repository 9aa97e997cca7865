"""``python -m orchestai.route``: send prompts to a model with a saved router (see :mod:`orchestai.routing.router`)."""
