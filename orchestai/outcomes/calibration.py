"""Calibration of predicted probabilities: reliability bins, expected calibration error, Brier score, temperature.

The expected calibration error (ECE) follows Guo et al. (2017): predictions fall into
``bins`` equal-width bins of ``[0, 1]`` (a prediction of exactly 1 in the last one);
ECE is the share-weighted mean gap between each bin's mean prediction and the rate at
which its outcomes happened. Temperature scaling divides a logit by ``T > 0``; the
negative log-likelihood is convex in ``1/T``, so a bounded golden-section search on
``1/T`` finds the best one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_INVERSE_TEMPERATURE = 1e-3
MAX_INVERSE_TEMPERATURE = 20.0


@dataclass(frozen=True)
class ReliabilityBin:
    """One bin of a reliability diagram: its range, how many predictions fell in it, their mean and the outcome rate."""

    low: float
    high: float
    count: int
    mean_prediction: float
    outcome_rate: float


def _check(probabilities: np.ndarray, outcomes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p, y = np.asarray(probabilities, dtype=np.float64).ravel(), np.asarray(outcomes, dtype=np.float64).ravel()
    if p.shape != y.shape or len(p) == 0:
        raise ValueError(f"probabilities {p.shape} and outcomes {y.shape} must be equal, non-empty arrays")
    if not (np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()):
        raise ValueError("probabilities must be finite and within [0, 1]")
    return p, y


def reliability_bins(probabilities: np.ndarray, outcomes: np.ndarray, bins: int = 10) -> list[ReliabilityBin]:
    """The non-empty equal-width bins of the predictions with each one's mean prediction and outcome rate."""
    p, y = _check(probabilities, outcomes)
    index = np.minimum((p * bins).astype(np.int64), bins - 1)
    found = []
    for b in range(bins):
        members = index == b
        if members.any():
            found.append(
                ReliabilityBin(
                    b / bins, (b + 1) / bins, int(members.sum()), float(p[members].mean()), float(y[members].mean())
                )
            )
    return found


def expected_calibration_error(probabilities: np.ndarray, outcomes: np.ndarray, bins: int = 10) -> float:
    """ECE: the mean over bins of ``|mean prediction - outcome rate|``, weighted by the bin's share of predictions."""
    p, _ = _check(probabilities, outcomes)
    return float(
        sum(b.count * abs(b.mean_prediction - b.outcome_rate) for b in reliability_bins(probabilities, outcomes, bins))
        / len(p)
    )


def brier_score(probabilities: np.ndarray, outcomes: np.ndarray) -> float:
    """Mean squared difference between predictions and 0/1 outcomes."""
    p, y = _check(probabilities, outcomes)
    return float(np.mean((p - y) ** 2))


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """The logistic function, stable for large logits."""
    z = np.asarray(logits, dtype=np.float64)
    return np.exp(-np.logaddexp(0.0, -z))


def binary_nll(logits: np.ndarray, outcomes: np.ndarray) -> float:
    """Mean negative log-likelihood of 0/1 outcomes under ``sigmoid(logits)``."""
    z, y = np.asarray(logits, dtype=np.float64).ravel(), np.asarray(outcomes, dtype=np.float64).ravel()
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def fit_temperature(logits: np.ndarray, outcomes: np.ndarray, iterations: int = 100) -> float:
    """The temperature ``T`` minimising the NLL of ``sigmoid(logits / T)`` (``1/T`` within [0.001, 20])."""
    z, y = np.asarray(logits, dtype=np.float64).ravel(), np.asarray(outcomes, dtype=np.float64).ravel()
    if z.shape != y.shape or len(z) == 0:
        raise ValueError(f"logits {z.shape} and outcomes {y.shape} must be equal, non-empty arrays")
    low, high = MIN_INVERSE_TEMPERATURE, MAX_INVERSE_TEMPERATURE
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = binary_nll(a * z, y), binary_nll(b * z, y)
    for _ in range(iterations):
        if fa <= fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = binary_nll(a * z, y)
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = binary_nll(b * z, y)
    return 1.0 / ((low + high) / 2.0)
