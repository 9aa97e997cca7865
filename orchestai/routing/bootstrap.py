"""How much of an AIQ difference is the luck of the held-out sample: a paired bootstrap over prompts.

Every router's choices on the held-out prompts stay fixed; the prompts are resampled
with replacement, every curve and AIQ (common cost range included) is recomputed on
the resample, and the spread of ``AIQ(router) - AIQ(baseline)`` gives a percentile
interval. Paired: all routers are scored on the same resample.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from orchestai.routing.curves import aiq
from orchestai.routing.table import OutcomeTable


def aiq_difference_intervals(
    table: OutcomeTable,
    sweeps: Mapping[str, Sequence[np.ndarray]],
    baseline: str,
    resamples: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """Per router, the ``level`` percentile interval of its pooled AIQ minus ``baseline``'s over bootstrap resamples."""
    if baseline not in sweeps:
        raise ValueError(f"baseline {baseline!r} is not one of the routers {list(sweeps)}")
    rng = np.random.default_rng(seed)
    differences: dict[str, list[float]] = {name: [] for name in sweeps}
    for _ in range(resamples):
        rows = rng.integers(0, table.n_prompts, table.n_prompts)
        scores = aiq({name: np.array([table.point(c, rows) for c in choices]) for name, choices in sweeps.items()})
        for name in sweeps:
            differences[name].append(scores[name] - scores[baseline])
    tail = (1.0 - level) / 2.0 * 100.0
    return {name: (float(np.percentile(d, tail)), float(np.percentile(d, 100.0 - tail))) for name, d in differences.items()}
