"""What the kitchen_r world contains: areas, surfaces, objects, articulated fixtures.

One source of truth shared by the scene builder (MJCF), the task generator
(instructions) and the success predicates. World frame: z up, metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# The Franka Kitchen block (from gymnasium-robotics) is moved so that its
# countertop stands at a normal 0.9 m; every relation between its fixtures and
# the arm mount is kept (the arm mount sits 0.7 m lower too).
FK_DESK_OFFSET = (0.0, 2.2, -0.7)  # world position of the Franka Kitchen 'desk' body
ARM_MOUNT_HEIGHT = 1.1  # Franka Kitchen mounts the arm at 1.8 m; same offset as the desk
ARM_MOUNT_X = 0.2  # arm ahead of the base centre: the base turns in place within a 0.33 m circle


@dataclass(frozen=True)
class Area:
    """A work area the base drives to. ``pose`` = (x, y, yaw) of the base there."""

    name: str
    words: tuple[str, ...]  # how instructions name it
    pose: tuple[float, float, float]


@dataclass(frozen=True)
class Surface:
    """A horizontal support objects are placed on; a box centred at ``center``."""

    name: str
    area: str
    words: tuple[str, ...]
    center: tuple[float, float]
    half: tuple[float, float]  # half extents (x, y) of the top
    height: float  # z of the top face


@dataclass(frozen=True)
class ObjectSpec:
    """A pickable object. ``shape``: 'cylinder' | 'sphere' | 'box' | 'mug'."""

    name: str  # body name, e.g. 'red_mug'
    kind: str  # 'mug'
    color: str
    shape: str
    size: tuple[float, ...]  # mujoco geom size (half extents / radius, half height)
    mass: float

    @property
    def words(self) -> str:
        return self.kind if self.color == self.kind else f"{self.color} {self.kind}"

    @property
    def half_height(self) -> float:
        if self.shape == "sphere":
            return self.size[0]
        if self.shape == "box":
            return self.size[2]
        return self.size[1]


@dataclass(frozen=True)
class Receptacle:
    """A free bowl/plate that sits on a surface and can receive objects."""

    name: str
    kind: str  # 'bowl' | 'plate'
    color: str
    radius: float
    wall: float  # rim height (0 for a plate)

    @property
    def words(self) -> str:
        return f"{self.color} {self.kind}"


@dataclass(frozen=True)
class Fixture:
    """An articulated Franka Kitchen part: a joint with 'open'/'on' and 'closed'/'off' ranges."""

    name: str
    kind: str  # 'door' | 'drawer' | 'knob' | 'switch'
    joint: str
    words: tuple[str, ...]
    handle_site: str
    active_below: float  # joint value below which it counts as open / on
    inactive_above: float  # joint value above which it counts as closed / off
    dock: tuple[float, float, float] = (0.0, 1.2, math.pi / 2)  # base pose to work it from
    coupled: tuple[str, float] | None = None  # (joint, ratio) slaved to this one by an equality
    door_yaw: float = 0.0  # yaw of the closed door's outward face relative to -y (microwave: 0.3)
    area: str = "stove"


COLORS: dict[str, tuple[float, float, float, float]] = {
    "red": (0.85, 0.12, 0.1, 1),
    "green": (0.15, 0.65, 0.2, 1),
    "blue": (0.15, 0.3, 0.85, 1),
    "yellow": (0.95, 0.85, 0.15, 1),
    "orange": (1.0, 0.55, 0.1, 1),
    "white": (0.92, 0.92, 0.9, 1),
    "purple": (0.55, 0.2, 0.7, 1),
}

AREAS: tuple[Area, ...] = (
    Area("stove", ("stove", "kitchen counter by the stove", "cooking area"), (0.1, 1.2, math.pi / 2)),
    Area("counter", ("counter", "island counter", "kitchen island"), (1.92, 0.0, 0.0)),
    Area("table", ("table", "dining table", "table by the window"), (0.0, -1.92, -math.pi / 2)),
    Area("shelf", ("shelf", "shelving unit", "pantry shelf"), (-1.92, 0.0, math.pi)),
)
AREA_BY_NAME = {a.name: a for a in AREAS}

SURFACES: tuple[Surface, ...] = (
    Surface("counter", "counter", ("counter", "island counter", "kitchen island"), (2.55, 0.0), (0.35, 0.7), 0.9),
    Surface("table", "table", ("table", "dining table", "table by the window"), (0.0, -2.55), (0.7, 0.35), 0.9),
    Surface("shelf", "shelf", ("shelf", "shelving unit", "pantry shelf"), (-2.5, 0.0), (0.3, 0.7), 0.9),
)
SURFACE_BY_NAME = {s.name: s for s in SURFACES}

OBJECTS: tuple[ObjectSpec, ...] = (
    ObjectSpec("red_mug", "mug", "red", "mug", (0.03, 0.045), 0.15),
    ObjectSpec("blue_mug", "mug", "blue", "mug", (0.03, 0.045), 0.15),
    ObjectSpec("green_mug", "mug", "green", "mug", (0.03, 0.045), 0.15),
    ObjectSpec("red_can", "can", "red", "cylinder", (0.028, 0.055), 0.12),
    ObjectSpec("yellow_can", "can", "yellow", "cylinder", (0.028, 0.055), 0.12),
    ObjectSpec("white_bottle", "bottle", "white", "cylinder", (0.026, 0.08), 0.15),
    ObjectSpec("green_bottle", "bottle", "green", "cylinder", (0.026, 0.08), 0.15),
    ObjectSpec("red_apple", "apple", "red", "sphere", (0.032,), 0.1),
    ObjectSpec("green_apple", "apple", "green", "sphere", (0.032,), 0.1),
    ObjectSpec("orange", "orange", "orange", "sphere", (0.033,), 0.1),
    ObjectSpec("yellow_lemon", "lemon", "yellow", "sphere", (0.028,), 0.08),
    ObjectSpec("red_block", "block", "red", "box", (0.025, 0.025, 0.025), 0.08),
    ObjectSpec("blue_block", "block", "blue", "box", (0.025, 0.025, 0.025), 0.08),
    ObjectSpec("yellow_block", "block", "yellow", "box", (0.025, 0.025, 0.025), 0.08),
    ObjectSpec("purple_box", "box", "purple", "box", (0.03, 0.03, 0.045), 0.1),
)
OBJECT_BY_NAME = {o.name: o for o in OBJECTS}

RECEPTACLES: tuple[Receptacle, ...] = (
    Receptacle("blue_bowl", "bowl", "blue", 0.085, 0.04),
    Receptacle("white_bowl", "bowl", "white", 0.085, 0.04),
    Receptacle("white_plate", "plate", "white", 0.1, 0.0),
    Receptacle("green_plate", "plate", "green", 0.1, 0.0),
)
RECEPTACLE_BY_NAME = {r.name: r for r in RECEPTACLES}

FIXTURES: tuple[Fixture, ...] = (
    # open beyond 0.45 rad counts, as in Franka Kitchen's microwave goal (-0.75 ± 0.3)
    Fixture("microwave", "door", "microwave", ("microwave", "microwave door"), "microhandle_site", -0.45, -0.08,
            dock=(-0.05, 1.2, math.pi / 2), door_yaw=0.3),
    Fixture("slide_cabinet", "drawer", "slide_cabinet", ("sliding cabinet", "slide cabinet"), "slide_site", 0.0, 0.0,
            dock=(0.2, 1.2, math.pi / 2)),
    Fixture("light", "switch", "light_switch", ("light", "lights", "kitchen light"), "light_site", -0.45, -0.15,
            dock=(-0.12, 1.2, math.pi / 2), coupled=("light_joint", 14.0)),
)
# Knobs turn burners on; each burner has its own knob.
# burner name -> (knob joint, handle site, words); Franka Kitchen slaves each burner's
# slide joint to its knob at 1/174 of the angle
BURNERS = {
    "bottom_right": ("knob_Joint_1", "knob1_site", ("front right burner", "bottom right burner")),
    "bottom_left": ("knob_Joint_2", "knob2_site", ("front left burner", "bottom left burner")),
    "top_right": ("knob_Joint_3", "knob3_site", ("back right burner", "top right burner")),
    "top_left": ("knob_Joint_4", "knob4_site", ("back left burner", "top left burner")),
}
KNOB_FIXTURES: tuple[Fixture, ...] = tuple(
    Fixture(f"{b}_burner", "knob", j, words, site, -0.6, -0.15,
            dock=(-0.033 if "right" in b else -0.12, 1.2, math.pi / 2), coupled=(f"{b}_burner", 174.0))
    for b, (j, site, words) in BURNERS.items()
)
ALL_FIXTURES: tuple[Fixture, ...] = FIXTURES + KNOB_FIXTURES
FIXTURE_BY_NAME = {f.name: f for f in ALL_FIXTURES}



def dock_pose(name: str) -> tuple[float, float, float]:
    """Where a navigate subtask to ``name`` docks: an area's base pose, or the pose a fixture is worked from."""
    if name in AREA_BY_NAME:
        return AREA_BY_NAME[name].pose
    if name in FIXTURE_BY_NAME:
        return FIXTURE_BY_NAME[name].dock
    raise ValueError(f"nowhere to dock for {name!r}: not an area or a fixture")


# the slide cabinet opens by sliding its joint positive; handled in predicates
SLIDE_OPEN_ABOVE = 0.25
SLIDE_CLOSED_BELOW = 0.05
