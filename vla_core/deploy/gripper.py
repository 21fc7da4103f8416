"""The policy's gripper value (0 open … 1 closed) → franka_gripper ``move`` / ``grasp`` goals.

franka_gripper's actions take a second or so and a new goal preempts the running one, so a goal
goes out only when the open/closed decision changes, with hysteresis so a value hovering near 0.5
does not chatter. Closing is a ``grasp`` (force-controlled: it holds an object of unknown width);
opening is a ``move`` to the full width.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from vla_core.deploy.validate import number
from vla_core.deploy.validate import section as validate_section

HAND_MAX_WIDTH = 0.08  # m, Franka Hand fingers fully open
HAND_MAX_SPEED = 0.1  # m/s
HAND_MAX_FORCE = 70.0  # N, Franka Hand continuous grasp force


@dataclass(frozen=True)
class GripperConfig:
    open_width: float = HAND_MAX_WIDTH  # m, the ``move`` target when opening
    speed: float = 0.05  # m/s for both actions
    force: float = 20.0  # N, grasp force
    grasp_width: float = 0.0  # m, ``grasp`` target: close until the object stops the fingers
    # the grasp succeeds if the fingers stop within [width - inner, width + outer]; outer spans the whole
    # hand because the policy does not know the object's width
    epsilon_inner: float = 0.005
    epsilon_outer: float = HAND_MAX_WIDTH
    close_above: float = 0.6  # gripper value above which the hand closes
    open_below: float = 0.4  # … and below which it opens again

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "open_width", number("open_width", self.open_width, positive=True, hi=HAND_MAX_WIDTH))
        set_(self, "speed", number("speed", self.speed, positive=True, hi=HAND_MAX_SPEED))
        set_(self, "force", number("force", self.force, positive=True, hi=HAND_MAX_FORCE))
        set_(self, "grasp_width", number("grasp_width", self.grasp_width, lo=0.0, hi=HAND_MAX_WIDTH))
        set_(self, "epsilon_inner", number("epsilon_inner", self.epsilon_inner, lo=0.0, hi=HAND_MAX_WIDTH))
        set_(self, "epsilon_outer", number("epsilon_outer", self.epsilon_outer, lo=0.0, hi=HAND_MAX_WIDTH))
        set_(self, "close_above", number("close_above", self.close_above, lo=0.0, hi=1.0))
        set_(self, "open_below", number("open_below", self.open_below, lo=0.0, hi=1.0))
        if not self.open_below < self.close_above:
            raise ValueError(f"open_below = {self.open_below} must be < close_above = {self.close_above}")

    @classmethod
    def from_dict(cls, data: Mapping, section: str = "gripper") -> GripperConfig:
        return validate_section(section, cls, data)


@dataclass(frozen=True)
class GripperCommand:
    """One franka_msgs goal: ``Move(width, speed)`` or ``Grasp(width, epsilon, speed, force)``."""

    action: str  # 'move' | 'grasp'
    width: float  # m
    speed: float  # m/s
    force: float = 0.0  # N (grasp only)
    epsilon_inner: float = 0.0  # m (grasp only)
    epsilon_outer: float = 0.0  # m (grasp only)


class GripperMapper:
    def __init__(self, config: GripperConfig | None = None):
        self.config = config or GripperConfig()
        self._closed: bool | None = None  # None: unknown, so the first decision always goes out

    @property
    def closed(self) -> bool | None:
        return self._closed

    def reset(self) -> None:
        """Forget the state (after an e-stop reset or recovery the hand may have been moved by hand)."""
        self._closed = None

    def update(self, value: float | None) -> GripperCommand | None:
        """A goal when the decision changes, else None. ``value`` must be finite in [0, 1] or None (no change)."""
        if value is None:
            return None
        c = self.config
        if value > c.close_above:
            closed = True
        elif value < c.open_below:
            closed = False
        else:  # the dead band keeps whatever was decided last
            return None
        if closed == self._closed:
            return None
        self._closed = closed
        if closed:
            return GripperCommand("grasp", c.grasp_width, c.speed, c.force, c.epsilon_inner, c.epsilon_outer)
        return GripperCommand("move", c.open_width, c.speed)
