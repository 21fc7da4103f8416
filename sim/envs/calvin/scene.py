"""Builds the MJCF of one CALVIN-style layout: the Franka (its meshes from the installed
gymnasium-robotics package, as kitchen_r uses), the desk, the slider cabinet, the drawer, the
button + LED, the switch + lightbulb and the three blocks."""

from __future__ import annotations

import functools

import mujoco
import numpy as np

from sim.envs.calvin import catalog as C
from sim.envs.kitchen_r.scene import franka_kitchen_dir

LIGHT_PARK_Z = -1.0  # the lit LED / bulb geoms wait under the floor while off


def _box(name: str, center, half, extra: str = "") -> str:
    c = " ".join(f"{v:.4f}" for v in center)
    h = " ".join(f"{v:.4f}" for v in half)
    nm = f'name="{name}" ' if name else ""
    return f'<geom {nm}type="box" pos="{c}" size="{h}" {extra}/>'


def _desk(lay: C.Layout) -> str:
    x0, x1 = C.DESK_X
    y0, y1 = C.DESK_Y
    top = C.DESK_TOP
    parts = [_box("desk_top", ((x0 + x1) / 2, 0, top - 0.015), ((x1 - x0) / 2, (y1 - y0) / 2, 0.015), 'material="desk"')]
    for i, (x, y) in enumerate(((x0 + 0.03, y0 + 0.03), (x0 + 0.03, y1 - 0.03), (x1 - 0.03, y0 + 0.03), (x1 - 0.03, y1 - 0.03))):
        parts.append(_box(f"desk_leg{i}", (x, y, (top - 0.03) / 2), (0.025, 0.025, (top - 0.03) / 2), 'material="frame"'))
    return "".join(parts)


def _cabinet(lay: C.Layout) -> str:
    """Two low bays on the desk under a sliding lid; a tower beside them with the switch on its
    front and the lightbulb on top."""
    cx0, cx1 = C.CABINET_X
    xm = (cx0 + cx1) / 2
    w, top, wall = C.CABINET_WIDTH, C.DESK_TOP, C.BAY_WALL
    yc, s = lay.cabinet_y, lay.side
    ym, yM = yc - w / 2, yc + w / 2
    ty = (yM, yM + C.SIDE_PANEL) if s > 0 else (ym - C.SIDE_PANEL, ym)
    mat = 'material="cabinet"'
    wz, wh = (C.BAY_FLOOR + wall) / 2, (wall - C.BAY_FLOOR) / 2
    g = [
        # the bays' floor board: what "in the slider" rests on
        _box("slider_floor", (xm, yc, (top + C.BAY_FLOOR) / 2), ((cx1 - cx0) / 2, w / 2, (C.BAY_FLOOR - top) / 2),
             'material="board"'),
        _box("bay_front", (cx0 - 0.005, yc, wz), (0.005, w / 2, wh), mat),
        _box("bay_back", (cx1 + 0.005, yc, wz), (0.005, w / 2, wh), mat),
        _box("bay_wall_l", (xm, yM - 0.005, wz), ((cx1 - cx0) / 2, 0.005, wh), mat),
        _box("bay_wall_r", (xm, ym + 0.005, wz), ((cx1 - cx0) / 2, 0.005, wh), mat),
        _box("bay_mid", (xm, yc, wz), ((cx1 - cx0) / 2, 0.004, wh), mat),
        _box("tower", (xm, (ty[0] + ty[1]) / 2, (top + C.TOWER_TOP) / 2),
             ((cx1 - cx0) / 2 + 0.01, (ty[1] - ty[0]) / 2, (C.TOWER_TOP - top) / 2), mat),
    ]
    bx, by, bz = lay.bulb_xyz
    g.append(f'<geom name="bulb_glass" type="sphere" pos="{bx:.4f} {by:.4f} {bz:.4f}" size="0.03" rgba="0.9 0.9 0.85 0.6" '
             'contype="0" conaffinity="0"/>')
    # the lid: one bay wide, sliding along y on the bay walls; qpos 0 covers the right bay
    lid = (
        f'<body name="slider" pos="{xm:.4f} {yc - w / 4:.4f} {C.LID_Z + 0.005:.4f}">'
        f'<joint name="slider_joint" type="slide" axis="0 1 0" range="0 {C.DOOR_TRAVEL}" damping="20" frictionloss="2"/>'
        '<inertial pos="0 0 0" mass="0.5" diaginertia="0.005 0.005 0.005"/>'
        + _box("slider_door", (0, 0, 0), ((cx1 - cx0) / 2 + 0.01, w / 4, 0.005), 'material="door"')
        + _box("slider_handle", (-0.04, 0, 0.025), (0.011, 0.011, 0.02), 'material="handle"')
        + '<site name="slider_handle_site" pos="-0.04 0 0.03" size="0.005" rgba="0 0 0 0"/></body>'
    )
    # the switch: a lever sliding up the tower's front; up = bulb on
    sx = (C.SWITCH_X[0] + C.SWITCH_X[1]) / 2
    switch = (
        f'<body name="switch" pos="{sx:.4f} {lay.switch_y:.4f} {C.SWITCH_Z:.4f}" gravcomp="1">'  # stays where it is put
        f'<joint name="switch_joint" type="slide" axis="0 0 1" range="0 {C.SWITCH_TRAVEL}" damping="10" frictionloss="3"/>'
        '<inertial pos="0 0 0" mass="0.2" diaginertia="0.001 0.001 0.001"/>'
        + _box("switch_handle", (0, 0, 0), ((C.SWITCH_X[1] - C.SWITCH_X[0]) / 2, 0.011, 0.012), 'material="handle"')
        + '<site name="switch_site" pos="-0.01 0 0" size="0.005" rgba="0 0 0 0"/></body>'
    )
    return "".join(g) + lid + switch


def _drawer(lay: C.Layout) -> str:
    """A box under the desk top that slides out toward the robot (qpos = how far it is open)."""
    x0, x1 = C.DRAWER_X
    f, yh = C.DRAWER_FLOOR, C.DRAWER_Y_HALF
    wall_top = C.DESK_TOP - 0.045
    mat = 'material="drawer"'
    hx = C.DRAWER_HANDLE_X
    g = [
        _box("drawer_floor", ((x0 + x1) / 2, 0, f - 0.005), ((x1 - x0) / 2, yh, 0.005), mat),
        _box("drawer_front", (x0 - 0.01, 0, (f - 0.01 + C.DESK_TOP - 0.035) / 2), (0.01, yh + 0.01, (C.DESK_TOP - 0.025 - f) / 2), mat),
        _box("drawer_back", (x1 - 0.005, 0, (f + wall_top) / 2), (0.005, yh, (wall_top - f) / 2), mat),
        _box("drawer_side_l", ((x0 + x1) / 2, yh - 0.005, (f + wall_top) / 2), ((x1 - x0) / 2, 0.005, (wall_top - f) / 2), mat),
        _box("drawer_side_r", ((x0 + x1) / 2, -yh + 0.005, (f + wall_top) / 2), ((x1 - x0) / 2, 0.005, (wall_top - f) / 2), mat),
        # a stub sticking out toward the robot: a top-down hand grips it across y and pulls
        _box("drawer_handle", ((hx[0] + hx[1]) / 2, 0, C.DRAWER_HANDLE_Z), ((hx[1] - hx[0]) / 2, 0.011, 0.011),
             'material="handle"'),
    ]
    return (f'<body name="drawer" pos="0 {lay.drawer_y:.4f} 0">'
            f'<joint name="drawer_joint" type="slide" axis="-1 0 0" range="0 {C.DRAWER_TRAVEL}" damping="20" frictionloss="2"/>'
            '<inertial pos="0.47 0 0.78" mass="2" diaginertia="0.05 0.05 0.05"/>'
            + "".join(g)
            + f'<site name="drawer_handle_site" pos="{hx[0] + 0.015:.4f} 0 {C.DRAWER_HANDLE_Z:.4f}" size="0.005" rgba="0 0 0 0"/>'
            + f'<site name="drawer_site" pos="{(x0 + x1) / 2:.4f} 0 {f:.4f}" size="0.005" rgba="0 0 0 0"/></body>')


def _button(lay: C.Layout) -> str:
    """A push button on the desk (spring-returned) and the LED it toggles."""
    bx, by = lay.button_xy
    lx, ly = lay.led_xy
    top = C.DESK_TOP
    return (
        _box("button_base", (bx, by, top + 0.008), (0.035, 0.035, 0.008), 'material="frame" contype="0" conaffinity="0"')
        + f'<body name="button" pos="{bx:.4f} {by:.4f} {top + 0.028:.4f}">'
        f'<joint name="button_joint" type="slide" axis="0 0 -1" range="0 {C.BUTTON_TRAVEL}" stiffness="300" '
        'springref="0" damping="5"/>'
        '<inertial pos="0 0 0" mass="0.05" diaginertia="0.0001 0.0001 0.0001"/>'
        '<geom name="button_cap" type="cylinder" size="0.022 0.012" material="button"/>'
        '<site name="button_site" pos="0 0 0.012" size="0.005" rgba="0 0 0 0"/></body>'
        + f'<geom name="led_housing" type="cylinder" pos="{lx:.4f} {ly:.4f} {top + 0.01:.4f}" size="0.015 0.01" material="frame"/>'
    )


def _block(b: C.Block, i: int) -> str:
    hx, hy, hz = b.half
    m = 0.06
    ix, iy, iz = (m * (hy * hy + hz * hz) / 3, m * (hx * hx + hz * hz) / 3, m * (hx * hx + hy * hy) / 3)
    r = " ".join(f"{v:g}" for v in b.rgba)
    return (f'<body name="{b.name}" pos="{0.45 + 0.08 * i:.3f} 0 {C.DESK_TOP + hz + 0.002:.4f}">'
            f'<freejoint name="{b.name}_joint"/>'
            f'<inertial pos="0 0 0" mass="{m}" diaginertia="{ix:.3g} {iy:.3g} {iz:.3g}"/>'
            f'<geom name="{b.name}" type="box" size="{hx} {hy} {hz}" rgba="{r}" friction="1.2 0.02 0.002" condim="4" '
            'solref="0.005 1" priority="1"/></body>')


def _lights(lay: C.Layout) -> str:
    """The lit LED and bulb: glowing geoms on mocap bodies, parked under the floor while off
    (mocap poses are simulator state, so a saved state keeps the lights)."""
    lx, ly = lay.led_xy
    bx, by, bz = lay.bulb_xyz
    return (f'<body name="led_light" mocap="true" pos="{lx:.4f} {ly:.4f} {LIGHT_PARK_Z}">'
            '<geom type="sphere" size="0.012" material="led_lit" contype="0" conaffinity="0"/></body>'
            f'<body name="bulb_light" mocap="true" pos="{bx:.4f} {by:.4f} {LIGHT_PARK_Z}">'
            '<geom type="sphere" size="0.026" material="bulb_lit" contype="0" conaffinity="0"/></body>')


def _camera(name: str, pos, target, fovy: float) -> str:
    """A camera at ``pos`` looking at ``target`` with the image's up toward +z."""
    p, t = np.asarray(pos, float), np.asarray(target, float)
    fwd = (t - p) / np.linalg.norm(t - p)
    right = np.cross(fwd, (0.0, 0.0, 1.0))
    right /= np.linalg.norm(right)
    up = np.cross(right, fwd)
    ax = " ".join(f"{v:.4f}" for v in (*right, *up))
    return f'<camera name="{name}" pos="{p[0]:g} {p[1]:g} {p[2]:g}" xyaxes="{ax}" fovy="{fovy:g}"/>'


def build_xml(layout: str) -> str:
    lay = C.LAYOUTS[C.check_layout(layout)]
    fa = franka_kitchen_dir() / "franka_assets"
    r, g, b, _ = lay.desk_rgba
    mx, my, mz = C.ARM_MOUNT
    return f"""<mujoco model="calvin_{lay.name}">
  <include file="{fa}/assets.xml"/>
  <include file="{fa}/actuator.xml"/>
  <compiler inertiafromgeom="auto" inertiagrouprange="3 5" angle="radian" meshdir="{fa}/meshes"/>
  <option timestep="0.002" integrator="implicitfast" cone="elliptic" impratio="5"/>
  <visual><global offwidth="640" offheight="480"/><quality shadowsize="0" offsamples="0"/></visual>
  <asset>
    <texture name="grid" type="2d" builtin="checker" rgb1="0.3 0.32 0.35" rgb2="0.25 0.27 0.3" width="256" height="256"/>
    <material name="floor" texture="grid" texrepeat="8 8"/>
    <material name="desk" rgba="{r:g} {g:g} {b:g} 1"/>
    <material name="frame" rgba="0.25 0.25 0.27 1"/>
    <material name="cabinet" rgba="0.85 0.83 0.78 1"/>
    <material name="board" rgba="0.7 0.66 0.58 1"/>
    <material name="door" rgba="0.35 0.5 0.62 1"/>
    <material name="drawer" rgba="0.78 0.74 0.66 1"/>
    <material name="handle" rgba="0.15 0.15 0.15 1"/>
    <material name="button" rgba="0.2 0.7 0.25 1"/>
    <material name="pedestal" rgba="0.2 0.2 0.22 1"/>
    <material name="led_lit" rgba="0.1 1 0.2 1" emission="1"/>
    <material name="bulb_lit" rgba="1 0.95 0.4 1" emission="1"/>
  </asset>
  <worldbody>
    <light directional="true" diffuse=".6 .6 .6" pos="0.5 0 3" dir="0 0 -1" castshadow="false"/>
    <light directional="true" diffuse=".3 .3 .3" pos="-1 -1 2" dir="1 1 -1" castshadow="false"/>
    <geom name="floor" type="plane" size="3 3 0.1" material="floor"/>
    {_camera("static", (1.35, -0.45, 1.55), (0.45, 0.0, 0.95), 60)}
    {_camera("overhead", (0.3, 0.0, 2.2), (0.5, 0.0, 0.9), 60)}
    <body name="base" pos="0 0 0">
      <joint name="base_x" type="slide" axis="1 0 0" damping="50"/>
      <joint name="base_y" type="slide" axis="0 1 0" damping="50"/>
      <joint name="base_yaw" type="hinge" axis="0 0 1" damping="20"/>
      <inertial pos="0 0 0.3" mass="70" diaginertia="4 4 6"/>
      <geom name="pedestal" type="box" size="0.08 0.08 {mz / 2 - 0.005:.4f}" pos="{mx:g} {my:g} {mz / 2 - 0.005:.4f}" material="pedestal" contype="0" conaffinity="0"/>
      <body name="arm_mount" pos="{mx:g} {my:g} {mz:g}">
        <include file="{fa}/chain.xml"/>
      </body>
    </body>
    <body name="desk">{_desk(lay)}{_cabinet(lay)}{_drawer(lay)}{_button(lay)}</body>
    {"".join(_block(b, i) for i, b in enumerate(C.BLOCKS))}
    {_lights(lay)}
  </worldbody>
  <actuator>
    <position name="base_x" joint="base_x" kp="20000" kv="3000" ctrlrange="-10 10"/>
    <position name="base_y" joint="base_y" kp="20000" kv="3000" ctrlrange="-10 10"/>
    <position name="base_yaw" joint="base_yaw" kp="4000" kv="600" ctrlrange="-100 100"/>
  </actuator>
</mujoco>"""


@functools.lru_cache(maxsize=4)
def load_model(layout: str) -> mujoco.MjModel:
    """Compile a layout once per process; envs share the read-only model."""
    spec = mujoco.MjSpec.from_string(build_xml(layout))
    for body in spec.bodies:  # gravity compensation on the arm, as the real Panda's controller does
        if body.name.startswith("panda0_"):
            body.gravcomp = 1.0
    return spec.compile()
