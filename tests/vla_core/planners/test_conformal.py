"""Conformal abstention: the bound, the threshold, and the guarantee on fresh data."""

import math

import numpy as np
import pytest

from vla_core.planners.conformal import binomial_upper_bound, calibrate


def test_upper_bound_known_values():
    assert binomial_upper_bound(0, 10, 0.05) == pytest.approx(1 - 0.05 ** (1 / 10), abs=1e-6)
    assert binomial_upper_bound(0, 0, 0.1) == 1.0 and binomial_upper_bound(5, 5, 0.1) == 1.0
    assert binomial_upper_bound(10, 100, 0.1) > 0.1  # above the point estimate
    assert binomial_upper_bound(100, 1000, 0.1) < binomial_upper_bound(10, 100, 0.1)  # tighter with n


def synthetic(n, rng):
    """Confidence is informative: P(correct) rises with it (97 % right above 0.5, falling below)."""
    c = rng.uniform(size=n)
    correct = rng.uniform(size=n) < np.where(c > 0.5, 0.97, 0.2 + 1.5 * c * (c > 0.3))
    return c, correct


def test_selective_risk_holds_on_fresh_data():
    rng = np.random.default_rng(0)
    violations = 0
    for _ in range(40):
        cal = calibrate(*synthetic(1000, rng), risk=0.1, delta=0.1)
        assert 0 < cal.coverage < 1 and cal.empirical_risk <= 0.1
        c, ok = synthetic(20000, rng)
        acted = c >= cal.threshold
        violations += (~ok[acted]).mean() > 0.1
    assert violations <= 8  # ≤ δ = 10 % of draws may violate; 40 draws, generous slack


def test_uninformative_or_bad_planner_always_abstains():
    rng = np.random.default_rng(1)
    cal = calibrate(rng.uniform(size=500), rng.uniform(size=500) < 0.5, risk=0.1)
    assert math.isinf(cal.threshold) and cal.coverage == 0.0 and cal.abstain(0.99)


def test_perfect_planner_acts_on_everything():
    cal = calibrate(np.linspace(0, 1, 300), np.ones(300, bool), risk=0.05)
    assert cal.threshold == 0.0 and cal.coverage == 1.0 and not cal.abstain(0.0) and cal.abstain(float("nan"))


@pytest.mark.parametrize("args, why", [
    (([0.5, 0.6], [True]), "differ in length"),
    (([0.5, float("nan")], [True, False]), "NaN"),
])
def test_bad_calibration_input(args, why):
    with pytest.raises(ValueError, match=why):
        calibrate(*args)
    with pytest.raises(ValueError, match="risk and delta"):
        calibrate([0.5], [True], risk=0.0)
