"""Builds the kitchen_r MJCF: the Franka Kitchen block loaded from the installed
``gymnasium_robotics`` package (not copied), a Panda on a holonomic mobile base,
and our own furniture, objects and cameras (``sim/assets/kitchen_r``)."""

from __future__ import annotations

import functools
import importlib.util
import math
from pathlib import Path

import mujoco

from sim.envs.kitchen_r import catalog as C

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "kitchen_r"
PARK_ORIGIN = (6.0, 6.0)  # unused objects wait here, out of every camera's view
OBSTACLE_PARK = (-6.0, -6.0, 1.0)  # the perturbed split's obstacle when an episode has none


def _obstacle_xml() -> str:
    """The perturbed split's obstacle: a fixed (mocap) sphere the env moves per episode."""
    from sim.envs.kitchen_r.perturb import OBSTACLE_RADIUS

    x, y, z = OBSTACLE_PARK
    return (f'<body name="obstacle" mocap="true" pos="{x:g} {y:g} {z:g}">'
            f'<geom name="obstacle" type="sphere" size="{OBSTACLE_RADIUS:g}" rgba="0.95 0.55 0.1 1"/></body>')


def franka_kitchen_dir() -> Path:
    """The Franka Kitchen asset folder shipped inside gymnasium-robotics."""
    # find_spec, not import: importing gymnasium_robotics registers every env (slow, noisy)
    spec = importlib.util.find_spec("gymnasium_robotics")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("kitchen_r needs gymnasium-robotics (pip install -e .)")
    path = Path(spec.submodule_search_locations[0]) / "envs" / "assets" / "kitchen_franka"
    if not (path / "kitchen_assets" / "kitchen_env_model.xml").exists():
        raise RuntimeError(f"Franka Kitchen assets not found under {path}")
    return path


def _rgba(color: str) -> str:
    return " ".join(f"{c:g}" for c in C.COLORS[color])


def _inertial(mass: float, shape: str, size: tuple[float, ...]) -> str:
    """Explicit inertia: the Franka Kitchen compiler only counts geom groups 3-5."""
    if shape == "sphere":
        i = (2 / 5 * mass * size[0] ** 2,) * 3
    elif shape == "box":
        x, y, z = (2 * s for s in size)
        i = (mass * (y * y + z * z) / 12, mass * (x * x + z * z) / 12, mass * (x * x + y * y) / 12)
    else:  # cylinder (r, half height)
        r, h = size[0], 2 * size[1]
        side = mass * (3 * r * r + h * h) / 12
        i = (side, side, mass * r * r / 2)
    return f'<inertial pos="0 0 0" mass="{mass:g}" diaginertia="{i[0]:.3g} {i[1]:.3g} {i[2]:.3g}"/>'


def _object_xml(obj: C.ObjectSpec, index: int) -> str:
    px, py = PARK_ORIGIN[0] + 0.15 * index, PARK_ORIGIN[1]
    z = obj.half_height + 0.002
    rgba = _rgba(obj.color)
    # fruit gets rolling friction (condim 6): a perfect sphere set down on a table rolls off it
    condim = 6 if obj.shape == "sphere" else 4
    common = f'material="obj_{obj.color}" friction="1.2 0.02 0.002" condim="{condim}" solref="0.005 1" priority="1"'
    size = " ".join(f"{s:g}" for s in obj.size)
    if obj.shape == "mug":
        r, h = obj.size
        geoms = (
            f'<geom name="{obj.name}" type="cylinder" size="{size}" mass="{obj.mass}" {common}/>'
            f'<geom name="{obj.name}_handle" type="box" size="0.012 0.005 0.025" pos="{r + 0.01:g} 0 0" '
            f'mass="0.01" rgba="{rgba}" contype="0" conaffinity="0"/>'
        )
    else:
        geoms = f'<geom name="{obj.name}" type="{obj.shape}" size="{size}" mass="{obj.mass}" {common}/>'
    return (
        f'<body name="{obj.name}" pos="{px:g} {py:g} {z:g}">'
        f'<freejoint name="{obj.name}_joint"/>{_inertial(obj.mass, obj.shape, obj.size)}{geoms}'
        f'<site name="{obj.name}_site" size="0.005" rgba="0 0 0 0"/></body>'
    )


def _receptacle_xml(rec: C.Receptacle, index: int) -> str:
    px, py = PARK_ORIGIN[0] + 0.3 * index, PARK_ORIGIN[1] + 0.5
    mat = f'material="obj_{rec.color}"'
    parts = [f'<geom name="{rec.name}" type="cylinder" size="{rec.radius:g} 0.005" mass="0.2" {mat}/>']
    if rec.wall > 0:
        n = 12
        seg = 2 * rec.radius * math.sin(math.pi / n) * 0.55
        for k in range(n):
            a = 2 * math.pi * k / n
            x, y = rec.radius * math.cos(a), rec.radius * math.sin(a)
            parts.append(
                f'<geom name="{rec.name}_wall{k}" type="box" size="0.004 {seg:.4f} {rec.wall / 2:g}" '
                f'pos="{x:.4f} {y:.4f} {rec.wall / 2:g}" euler="0 0 {a:.4f}" mass="0.02" {mat}/>'
            )
    return (
        f'<body name="{rec.name}" pos="{px:g} {py:g} 0.006"><freejoint name="{rec.name}_joint"/>'
        + _inertial(0.3, "cylinder", (rec.radius, 0.01))
        + "".join(parts)
        + f'<site name="{rec.name}_site" size="0.005" rgba="0 0 0 0"/></body>'
    )


def _surface_xml(s: C.Surface) -> str:
    hx, hy = s.half
    h = s.height
    body = (
        f'<body name="{s.name}_furniture" pos="{s.center[0]:g} {s.center[1]:g} 0">'
        f'<geom name="{s.name}_top" type="box" size="{hx:g} {hy:g} 0.02" pos="0 0 {h - 0.02:g}" material="furniture_top"/>'
        f'<geom name="{s.name}_body" type="box" size="{hx - 0.04:g} {hy - 0.04:g} {(h - 0.04) / 2:g}" '
        f'pos="0 0 {(h - 0.04) / 2:g}" material="furniture_body"/>'
    )
    if s.name == "shelf":  # back panel and an upper board, so it reads as a shelf; both kept out
        # of the arm's way (the wrist caught a panel inside the top, the hand a lower board)
        body += (
            f'<geom type="box" size="0.02 {hy:g} 0.5" pos="{-hx - 0.02:g} 0 {h + 0.5:g}" material="furniture_body"/>'
            f'<geom type="box" size="0.12 {hy:g} 0.015" pos="{-hx + 0.08:g} 0 {h + 0.9:g}" material="furniture_top"/>'
        )
    return body + f'<site name="{s.name}_site" pos="0 0 {h:g}" size="0.005" rgba="0 0 0 0"/></body>'


def build_xml() -> str:
    """The whole kitchen_r MJCF as one string (includes point into gymnasium-robotics)."""
    fk = franka_kitchen_dir()
    ka, fa = fk / "kitchen_assets", fk / "franka_assets"
    items = ("oven", "counters", "backwall", "slidecabinet", "hingecabinet", "microwave", "kettle")
    includes = "\n".join(f'<include file="{ka}/item_assets/{i}_asset.xml"/>' for i in items)
    template = (ASSETS / "kitchen_r.xml").read_text()
    dx, dy, dz = C.FK_DESK_OFFSET
    mats = "\n".join(f'<material name="obj_{c}" rgba="{_rgba(c)}" specular="0.3"/>' for c in C.COLORS)
    return template.format(
        BASIC_SCENE=f"{ka}/basic_scene.xml",
        FRANKA_ASSETS=f"{fa}/assets.xml",
        FRANKA_ACTUATORS=f"{fa}/actuator.xml",
        FRANKA_CHAIN=f"{fa}/chain.xml",
        ITEM_ASSETS=includes,
        TEXTURE_DIR=f"{ka}/textures",
        MESH_DIR=f"{fa}/meshes",
        COUNTERS=f"{ka}/item_assets/counters_chain.xml",
        OVEN=f"{ka}/item_assets/oven_chain.xml",
        BACKWALL=f"{ka}/item_assets/backwall_chain.xml",
        SLIDECABINET=f"{ka}/item_assets/slidecabinet_chain.xml",
        HINGECABINET=f"{ka}/item_assets/hingecabinet_chain.xml",
        MICROWAVE=f"{ka}/item_assets/microwave_chain.xml",
        KETTLE=f"{ka}/item_assets/kettle_chain.xml",
        DESK_POS=f"{dx:g} {dy:g} {dz:g}",
        KETTLE_POS=f"{dx - 0.269 + 0.1:g} {dy - 0.75 + 0.35:g} {dz + 1.626:g}",
        ARM_MOUNT=f"{C.ARM_MOUNT_HEIGHT:g}",
        ARM_X=f"{C.ARM_MOUNT_X:g}",
        COLUMN_HALF=f"{(C.ARM_MOUNT_HEIGHT - 0.34) / 2:g}",
        MATERIALS=mats,
        FURNITURE="\n".join(_surface_xml(s) for s in C.SURFACES),
        OBJECTS="\n".join([_object_xml(o, i) for i, o in enumerate(C.OBJECTS)] + [_obstacle_xml()]),
        RECEPTACLES="\n".join(_receptacle_xml(r, i) for i, r in enumerate(C.RECEPTACLES)),
    )


@functools.lru_cache(maxsize=1)
def load_model() -> mujoco.MjModel:
    """Compile the scene once per process (≈0.3 s); envs share the read-only model."""
    spec = mujoco.MjSpec.from_string(build_xml())
    # Gravity compensation on the arm, as the real Panda's controller does.
    for body in spec.bodies:
        if body.name.startswith("panda0_"):
            body.gravcomp = 1.0
    return spec.compile()
