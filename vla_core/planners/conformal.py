"""Abstention threshold with a finite-sample guarantee on the selective risk.

A planner returns a confidence per plan. On a held-out calibration set of (confidence,
plan was right) pairs, ``calibrate`` picks the lowest threshold τ such that, with
probability ≥ 1 − δ over the calibration draw, the error rate among the plans it would act
on (confidence ≥ τ) is at most ``risk``. Below τ the planner abstains and asks for help.

Method: Learn-then-Test (Angelopoulos et al., 2021). Each threshold of a fixed grid over
[0, 1] (confidences are in [0, 1] by the planner contract) tests H0 "selective risk > risk"
with the Clopper–Pearson upper bound of the accepted plans' error rate at level δ / |grid|
(Bonferroni); the lowest threshold that rejects is used. Fixed-sequence testing from the most
confident end would need no correction, but it stops at the first thresholds, which accept
too few plans for any bound to pass.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

GRID = 101  # thresholds 0.00, 0.01, …, 1.00


def binomial_upper_bound(errors: int, n: int, delta: float) -> float:
    """Clopper–Pearson one-sided (1 − δ) upper confidence bound on a binomial rate."""
    if n == 0:
        return 1.0
    if errors >= n:
        return 1.0

    def cdf(p: float) -> float:  # P(X ≤ errors), X ~ Bin(n, p), summed in log space
        if p <= 0.0:
            return 1.0
        logs = [math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p)
                + (n - k) * math.log1p(-p) for k in range(errors + 1)]
        m = max(logs)
        return min(1.0, math.exp(m) * sum(math.exp(v - m) for v in logs))

    lo, hi = errors / n, 1.0
    for _ in range(60):  # cdf falls with p: bisect for cdf(p) = δ
        mid = 0.5 * (lo + hi)
        if cdf(mid) > delta:
            lo = mid
        else:
            hi = mid
    return hi


@dataclass(frozen=True)
class Calibration:
    threshold: float  # act when confidence ≥ threshold; inf = always abstain
    risk: float  # the target selective risk α
    delta: float  # the guarantee holds with probability ≥ 1 − δ
    n: int  # calibration pairs
    coverage: float  # fraction of calibration plans acted on at the threshold
    empirical_risk: float  # error rate among those

    def to_dict(self) -> dict:
        return asdict(self)

    def abstain(self, confidence: float) -> bool:
        return not confidence >= self.threshold  # NaN confidence abstains too


def calibrate(confidence: np.ndarray, correct: np.ndarray, risk: float = 0.1, delta: float = 0.1) -> Calibration:
    """``confidence`` (N,) floats, ``correct`` (N,) bools from held-out data → Calibration."""
    c = np.asarray(confidence, dtype=np.float64).reshape(-1)
    ok = np.asarray(correct, dtype=bool).reshape(-1)
    if c.shape != ok.shape:
        raise ValueError(f"confidence {c.shape} and correct {ok.shape} differ in length")
    if not 0 < risk < 1 or not 0 < delta < 1:
        raise ValueError(f"risk and delta must be in (0, 1), got {risk}, {delta}")
    if not np.all(np.isfinite(c)):
        raise ValueError("calibration confidences contain NaN or inf")
    grid = np.round(np.linspace(0.0, 1.0, GRID), 6)
    for value in grid:  # lowest first: the first that passes acts most often
        acted = c >= value
        n_acc, e = int(acted.sum()), int((acted & ~ok).sum())
        if n_acc and binomial_upper_bound(e, n_acc, delta / GRID) <= risk:
            return Calibration(float(value), risk, delta, len(c), n_acc / len(c), e / n_acc)
    return Calibration(math.inf, risk, delta, len(c), 0.0, 0.0)
