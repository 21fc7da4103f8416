"""Staleness watchdogs on an injected (fake) monotonic clock."""

import math

import pytest

from vla_core.deploy.watchdog import Watchdog


class FakeClock:
    def __init__(self, t=100.0):
        self.t = t

    def __call__(self):
        return self.t


def test_stale_until_fed_then_fresh_until_the_timeout():
    clock = FakeClock()
    wd = Watchdog("action", 0.5, clock)
    assert wd.stale() and math.isinf(wd.age())  # never fed: stale
    wd.feed()
    assert not wd.stale() and wd.age() == 0.0
    clock.t += 0.5
    assert not wd.stale()  # exactly at the timeout: still fresh
    clock.t += 0.01
    assert wd.stale() and wd.age() == pytest.approx(0.51)
    wd.feed()
    assert not wd.stale()


def test_clear_and_a_clock_going_backwards_mean_stale():
    clock = FakeClock()
    wd = Watchdog("state", 0.2, clock)
    wd.feed()
    wd.clear()
    assert wd.stale()
    wd.feed()
    clock.t -= 1.0
    assert wd.stale()  # negative age: the clock cannot be trusted


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan"), float("inf"), "0.5"])
def test_bad_timeout_rejected(timeout):
    with pytest.raises(ValueError, match="action: timeout_s must be a finite number > 0"):
        Watchdog("action", timeout)
