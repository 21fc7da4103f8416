"""Staleness watchdogs: an input that has not arrived within its timeout is stale, and stale means hold.

Ages come from an injected monotonic clock at *receipt*, never from message header stamps: the
policy may run on another machine whose clock is not ours, and a wall clock can jump.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class Watchdog:
    def __init__(self, name: str, timeout_s: float, clock: Callable[[], float] = time.monotonic):
        if not (isinstance(timeout_s, (int, float)) and math.isfinite(timeout_s) and timeout_s > 0):
            raise ValueError(f"{name}: timeout_s must be a finite number > 0, got {timeout_s!r}")
        self.name, self.timeout_s, self._clock = name, float(timeout_s), clock
        self._last: float | None = None

    def feed(self) -> None:
        """The input just arrived (call only for inputs that passed their own checks)."""
        self._last = self._clock()

    def clear(self) -> None:
        """Forget the last arrival: stale until the next ``feed`` (after an e-stop reset, say)."""
        self._last = None

    def age(self) -> float:
        """Seconds since the last feed; inf before the first."""
        return math.inf if self._last is None else self._clock() - self._last

    def stale(self) -> bool:
        age = self.age()
        # a negative age means the clock went backwards: not trustworthy, so stale (hold) too
        return not 0.0 <= age <= self.timeout_s
