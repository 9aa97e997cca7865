"""Cost–quality curves of routers and RouterBench's summary numbers.

A router traced over a cost weight gives points ``(mean cost per prompt, mean
quality)``. RouterBench (Hu et al., 2024) summarises a router by the *non-decreasing
convex hull* of its points: a router can mix two of its settings at random, so every
point on a segment between two of its points is reachable, and spending more never has
to lower quality. ``AIQ`` is the area under that hull over the cost range ``[0,
c_max]``, divided by ``c_max``, where ``c_max`` is the largest cost on the hulls of all
routers compared (each hull is extended flat to it; below a router's cheapest point the area is
zero, as in RouterBench's ``calc_AIQ``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def non_decreasing_hull(points: Sequence[tuple[float, float]] | np.ndarray) -> np.ndarray:
    """The non-decreasing upper convex hull of ``(cost, quality)`` points, sorted by cost.

    Starts at the cheapest point (the best quality among the cheapest ones); keeps the
    points that are both better than every cheaper point and on the upper concave
    envelope.
    """
    array = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(array) == 0:
        raise ValueError("a cost–quality curve needs at least one point")
    if not np.isfinite(array).all():
        raise ValueError(f"cost–quality points must be finite, got {array.tolist()}")
    order = np.lexsort((-array[:, 1], array[:, 0]))  # by cost, then best quality first
    frontier: list[tuple[float, float]] = []
    for cost, quality in array[order]:
        if frontier and quality <= frontier[-1][1]:
            continue  # no better than something at most as cheap
        frontier.append((float(cost), float(quality)))
    hull: list[tuple[float, float]] = []
    for point in frontier:
        # pop the last point while it lies on or below the segment from its predecessor to `point`
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (point[1] - y1) - (y2 - y1) * (point[0] - x1) >= 0:
                hull.pop()
            else:
                break
        hull.append(point)
    return np.array(hull)


def hull_quality_at(hull: np.ndarray, cost: float) -> float:
    """Quality the hull reaches at ``cost`` (flat beyond its last point; NaN below its first)."""
    if cost < hull[0, 0]:
        return float("nan")
    return float(np.interp(cost, hull[:, 0], hull[:, 1]))


def cost_to_reach(hull: np.ndarray, quality: float) -> float:
    """The least cost at which the hull reaches ``quality`` (``inf`` if it never does)."""
    if hull[0, 1] >= quality:
        return float(hull[0, 0])
    for (x1, y1), (x2, y2) in zip(hull[:-1], hull[1:], strict=True):
        if y2 >= quality:
            return float(x1 + (quality - y1) * (x2 - x1) / (y2 - y1))
    return float("inf")


def area_under_hull(hull: np.ndarray, max_cost: float) -> float:
    """Area under the hull from 0 to ``max_cost`` (zero below its first point, flat after its last)."""
    if max_cost <= 0:
        raise ValueError(f"max_cost must be > 0, got {max_cost}")
    inside = hull[hull[:, 0] <= max_cost]
    if len(inside) == 0:
        return 0.0
    xs = np.append(inside[:, 0], max_cost)
    ys = np.append(inside[:, 1], hull_quality_at(hull, max_cost))
    return float(np.sum((xs[1:] - xs[:-1]) * (ys[1:] + ys[:-1]) / 2.0))


def aiq(curves: Mapping[str, np.ndarray | Sequence[tuple[float, float]]]) -> dict[str, float]:
    """RouterBench's AIQ of each curve, over the common cost range ``[0, largest cost on any hull]``."""
    hulls = {name: non_decreasing_hull(points) for name, points in curves.items()}
    max_cost = max(float(hull[-1, 0]) for hull in hulls.values())
    return {name: area_under_hull(hull, max_cost) / max_cost for name, hull in hulls.items()}
