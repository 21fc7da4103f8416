"""What our MuJoCo re-creation of CALVIN's desk holds, per scene layout (A, B, C, D).

CALVIN (Mees et al. 2022) is a PyBullet benchmark; this is a re-creation of its scene and
protocol, not its assets: a Franka at a desk with a sliding door over a two-bay cabinet, a
drawer under the top, a button that toggles a green LED, a switch that turns a lightbulb on,
and red / blue / pink blocks. The four layouts differ, as CALVIN's do, in the desk's colour
and where the slider cabinet, drawer, button and switch stand. World frame = the robot's base
frame: x ahead of the robot, y to its left, z up, metres.
"""

from __future__ import annotations

from dataclasses import dataclass

DESK_TOP = 0.9  # z of the desk's top face
DESK_X = (0.33, 0.78)  # front and back edge
DESK_Y = (-0.5, 0.5)
ARM_MOUNT = (0.0, 0.0, 0.95)  # the Franka stands on a pedestal 5 cm above the desk, as in CALVIN
TABLE_X = (0.36, 0.47)  # where blocks start on the desk: a hand over them clears the switch handle
TABLE_Y = (-0.32, 0.32)  # a 14 cm push from the edge of this stays on the desk

CABINET_X = (0.6, 0.76)  # the slider cabinet's bays, front to back
CABINET_WIDTH = 0.5  # two bays, 0.25 m each
BAY_FLOOR = 0.91  # z of the bays' floor board
BAY_WALL = 0.96  # z of the bays' wall tops: a top-down hand clears them over a block
TOWER_TOP = 1.2  # the side tower beside the bays carries the switch, the bulb stands on it
SIDE_PANEL = 0.09  # the tower's width
# CALVIN's sliding door is a vertical panel in front of its cabinet; ours is a lid that slides
# over the bays' top (one bay covered at a time), so a top-down hand reaches the open bay
DOOR_TRAVEL = 0.25  # the lid moves one bay: 0 covers the right bay, 0.25 the left
LID_Z = 0.97  # underside of the lid
DRAWER_Y_HALF = 0.13
DRAWER_X = (0.35, 0.6)  # the closed drawer's box under the top (behind its front panel)
DRAWER_FLOOR = 0.74  # z of the drawer's inner floor
DRAWER_TRAVEL = 0.16  # fully open: the front panel stands 16 cm toward the robot
DRAWER_HANDLE_X = (0.27, 0.33)
DRAWER_HANDLE_Z = 0.81
BUTTON_TRAVEL = 0.012
SWITCH_TRAVEL = 0.08  # the switch lever slides up this far on the tower's front
SWITCH_Z = 1.07  # the switch handle's height when down: a hand pushing a block on the desk passes under it
SWITCH_X = (0.52, 0.59)  # the switch handle sticks out toward the robot


@dataclass(frozen=True)
class Block:
    name: str  # 'red_block'
    color: str
    half: tuple[float, float, float]  # box half extents
    rgba: tuple[float, float, float, float]

    @property
    def words(self) -> str:
        return f"{self.color} block"


BLOCKS: tuple[Block, ...] = (
    Block("red_block", "red", (0.025, 0.025, 0.025), (0.85, 0.12, 0.1, 1)),
    Block("blue_block", "blue", (0.02, 0.035, 0.02), (0.15, 0.3, 0.85, 1)),
    Block("pink_block", "pink", (0.03, 0.022, 0.018), (0.95, 0.45, 0.7, 1)),
)
BLOCK_BY_NAME = {b.name: b for b in BLOCKS}
COLORS = tuple(b.color for b in BLOCKS)


@dataclass(frozen=True)
class Layout:
    """One of CALVIN's scene layouts: where the articulated parts stand on the same desk."""

    name: str  # 'A'..'D'
    desk_rgba: tuple[float, float, float, float]
    cabinet_y: float  # centre of the slider cabinet
    drawer_y: float  # centre of the drawer
    button_xy: tuple[float, float]
    switch_left: bool  # the switch on the cabinet's left (+y) side, else its right

    @property
    def led_xy(self) -> tuple[float, float]:
        return (self.button_xy[0] + 0.08, self.button_xy[1])

    # the button stands behind the blocks' area (TABLE_X) and beside the cabinet: a block pushed
    # sideways never runs onto it

    @property
    def side(self) -> float:
        """+1 when the switch (and the bulb above it) is on the cabinet's left."""
        return 1.0 if self.switch_left else -1.0

    @property
    def bulb_xyz(self) -> tuple[float, float, float]:
        return (sum(CABINET_X) / 2, self.switch_y, TOWER_TOP + 0.035)

    @property
    def switch_y(self) -> float:
        """The switch's slot, on the front of the tower beside the bays."""
        return self.cabinet_y + self.side * (CABINET_WIDTH / 2 + SIDE_PANEL / 2)

    def bay_y(self, bay: str) -> float:
        """Centre of the 'left' (+y) or 'right' bay."""
        return self.cabinet_y + (CABINET_WIDTH / 4 if bay == "left" else -CABINET_WIDTH / 4)


LAYOUTS: dict[str, Layout] = {
    "A": Layout("A", (0.62, 0.45, 0.3, 1), cabinet_y=-0.08, drawer_y=0.25, button_xy=(0.55, -0.42), switch_left=True),
    "B": Layout("B", (0.75, 0.72, 0.68, 1), cabinet_y=0.08, drawer_y=-0.25, button_xy=(0.55, 0.42), switch_left=False),
    "C": Layout("C", (0.4, 0.4, 0.42, 1), cabinet_y=-0.04, drawer_y=-0.25, button_xy=(0.54, 0.42), switch_left=True),
    "D": Layout("D", (0.55, 0.35, 0.25, 1), cabinet_y=0.04, drawer_y=0.25, button_xy=(0.54, -0.42), switch_left=False),
}
TRAIN_LAYOUTS = ("A", "B", "C")
TEST_LAYOUT = "D"


def check_layout(name: object) -> str:
    key = str(name).upper()
    if key not in LAYOUTS:
        raise ValueError(f"unknown CALVIN layout {name!r}; choose from {', '.join(LAYOUTS)}")
    return key
