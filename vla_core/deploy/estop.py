"""A latched software e-stop, and the gate for Franka error recovery.

Latched: once triggered it stays triggered, whatever later messages say; it never resumes on its
own. Only an explicit ``reset(confirm=True)`` releases it, and only while no source still asserts
it (a pressed button held down must be released first). This is a software stop on top of, never
instead of, the robot's hardware e-stop.
"""

from __future__ import annotations

from dataclasses import dataclass

from vla_core.deploy.state import RobotMode


@dataclass(frozen=True)
class Decision:
    ok: bool
    message: str


class EStop:
    def __init__(self) -> None:
        self._latched = False
        self._asserted: set[str] = set()
        self._causes: list[str] = []  # every source that triggered since the last reset, in order

    @property
    def latched(self) -> bool:
        return self._latched

    @property
    def asserted(self) -> frozenset[str]:
        return frozenset(self._asserted)

    @property
    def causes(self) -> tuple[str, ...]:
        return tuple(self._causes)

    def set(self, source: str, asserted: bool) -> None:
        """A level input (e.g. ``/vla/estop`` Bool): True latches; False only stops asserting."""
        if asserted:
            self._asserted.add(source)
            self.trigger(source)
        else:
            self._asserted.discard(source)  # the latch stays: de-asserting is not a reset

    def trigger(self, source: str) -> None:
        """A one-shot trigger (a fault found in software): latches, asserts nothing."""
        self._latched = True
        if source not in self._causes:
            self._causes.append(source)

    def reset(self, confirm: bool = False) -> Decision:
        if not self._latched:
            return Decision(True, "e-stop is not latched")
        if confirm is not True:  # a truthy string or 1 from a sloppy caller is not a confirmation
            return Decision(False, "reset refused: pass confirm=True to release the e-stop")
        if self._asserted:
            return Decision(False, f"reset refused: still asserted by {sorted(self._asserted)}")
        self._latched = False
        self._causes.clear()
        return Decision(True, "e-stop released")


def error_recovery_allowed(requested: bool, robot_mode: int | None, estop: EStop) -> Decision:
    """Franka error recovery (``/action_server/error_recovery``): only on request, only in reflex mode.

    Recovery re-enables motion, so it waits for the e-stop to be reset first; it is never automatic
    because a reflex means something was hit, and a person should look before it moves again.
    """
    if requested is not True:
        return Decision(False, "error recovery runs only on an explicit request")
    if estop.latched:
        return Decision(False, "error recovery refused: reset the e-stop first")
    if robot_mode != RobotMode.REFLEX:
        name = "unknown" if robot_mode is None else RobotMode.name_of(robot_mode)
        return Decision(False, f"error recovery refused: robot mode is {name}, not reflex")
    return Decision(True, "error recovery requested in reflex mode")
